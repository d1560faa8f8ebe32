import type { Random } from './random.js';

/**
 * The synthetic tenant behind `mailbox-radar simulate`: a few hundred people in contoso.com and
 * contoso.co.uk (one organization), their mailboxes and devices, and who may legitimately read whose
 * mailbox — assistants their executives', helpdesk admins anyone's now and then (through admin accounts
 * `adm-<name>`), fabrikam.com partners the few mailboxes delegated to them. Everything is drawn from the seeded generator, so one seed gives
 * one tenant. Pure: no I/O, no clock.
 */

export const ORGANIZATION_DOMAINS = ['contoso.com', 'contoso.co.uk'] as const;
export const PARTNER_DOMAIN = 'fabrikam.com';

/**
 * The tenant's backup app: it reads every mailbox all day (Sync), so it must be in
 * `detection.allowlist.apps` — fixed, so that a configuration can name it.
 */
export const BACKUP_APP_ID = '3f1c2b9e-6d4a-4e8b-9c7d-0a1b2c3d4e5f';
/** The helpdesk's admin accounts (`adm-<upn>`), by which a policy names them. */
export const HELPDESK_ACTORS = ORGANIZATION_DOMAINS.map((domain) => `adm-*@${domain}`);

/**
 * The detection settings this tenant needs in any configuration that reads its traffic (`run`, `replay`):
 * its two domains are one organization, its backup app is allow-listed, and a policy turns first_access off
 * for the helpdesk's admin accounts, whose work is opening mailboxes they have not opened before. Without
 * them the traffic raises cross-domain, app and first-access alerts of its own, beside the injected attacks.
 */
export function tenantDetectionSettings(): {
  organizationDomains: string[][];
  allowlist: { apps: string[] };
  policies: { name: string; match: { actors: string[] }; rules: { firstAccess: { enabled: false } } }[];
} {
  return {
    organizationDomains: [[...ORGANIZATION_DOMAINS]],
    allowlist: { apps: [BACKUP_APP_ID] },
    policies: [
      {
        name: 'helpdesk',
        match: { actors: [...HELPDESK_ACTORS] },
        rules: { firstAccess: { enabled: false } },
      },
    ],
  };
}

/** Microsoft Graph's AppId: a record through Graph names the real caller in ClientAppId. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** How one device shows up in the audit log (client_ip keeps the log's shapes: port, brackets, IPv6). */
export interface Device {
  clientIp: string;
  clientIpAddress: string | null;
  clientInfoString: string;
  machineName: string | null;
  processName: string | null;
  version: string | null;
}

export interface Person {
  upn: string;
  displayName: string;
  sid: string;
  /** The PUID the audit log writes as user_key. */
  userKey: string;
  domain: string;
  /** Null for people outside the tenant (they have no mailbox here). */
  mailboxGuid: string | null;
  originatingServer: string;
  devices: readonly Device[];
}

/**
 * An OAuth application reading mail with its own identity (app-only): through Microsoft Graph (AppId
 * Graph's, ClientAppId the app) or EWS (`full_access_as_app`: AppId the app, no ClientAppId).
 */
export interface App {
  id: string;
  displayName: string;
  via: 'graph' | 'ews';
  device: Device;
}

export interface Delegation {
  actor: Person;
  mailboxes: readonly Person[];
}

export interface Tenant {
  organizationId: string;
  organizationName: string;
  /** Everyone with a mailbox in the tenant. */
  users: readonly Person[];
  executives: readonly Person[];
  /** Assistants with delegate access to one or two executives' mailboxes. */
  assistants: readonly Delegation[];
  /** The helpdesk's admin accounts (`adm-<upn>`, the person's SID): who opens others' mailboxes. */
  helpdesk: readonly Person[];
  /** fabrikam.com people with delegate access to one or two mailboxes. */
  partners: readonly Delegation[];
  /** Users that never read another mailbox in the background traffic: the simulation's attackers come from here. */
  regular: readonly Person[];
  /** Line-of-business apps (not allow-listed), each reading a few mailboxes now and then. */
  apps: readonly { app: App; mailboxes: readonly Person[] }[];
  /** The backup app (BACKUP_APP_ID), reading every mailbox in turn. */
  backup: App;
}

export interface TenantOptions {
  users: number;
  executives?: number;
  assistants?: number;
  helpdesk?: number;
  partners?: number;
}

export const TENANT_DEFAULTS = {
  users: 300,
  executives: 8,
  assistants: 12,
  helpdesk: 4,
  partners: 20,
} as const;

export function buildTenant(random: Random, options: TenantOptions = TENANT_DEFAULTS): Tenant {
  const size = { ...TENANT_DEFAULTS, ...options };
  const minimum = size.executives + size.assistants + size.helpdesk + 40;
  if (size.users < minimum)
    throw new RangeError(`a simulated tenant needs at least ${minimum} users, got ${size.users}`);

  const names = new NameBook(random);
  const domainSid = `S-1-5-21-${random.int(100_000_000, 4_000_000_000)}-${random.int(100_000_000, 4_000_000_000)}-${random.int(100_000_000, 4_000_000_000)}`;
  let rid = random.int(10_000_000, 40_000_000);
  const organizationId = random.uuid();

  const users: Person[] = [];
  for (let i = 0; i < size.users; i++) {
    // About one in five people work for the UK entity: another domain, the same organization.
    const domain = random.chance(0.2) ? 'contoso.co.uk' : 'contoso.com';
    rid += random.int(1, 900);
    users.push(internalPerson(random, names, domain, `${domainSid}-${rid}`));
  }

  const pool = random.sample(users, users.length);
  const executives = pool.splice(0, size.executives);
  const assistants: Delegation[] = pool.splice(0, size.assistants).map((actor, i) => ({
    actor,
    // Every executive has at least one assistant; some assistants serve two executives.
    mailboxes:
      random.chance(0.3) && executives.length > 1
        ? random.sample(executives, 2)
        : [executives[i % executives.length]!],
  }));
  const helpdeskPeople = pool.splice(0, size.helpdesk).map((person) => ({
    ...person,
    displayName: `${person.displayName} (Helpdesk)`,
  }));
  // They open others' mailboxes through admin accounts of their own, as tenants set them up.
  const helpdesk = helpdeskPeople.map((person) => ({ ...person, upn: `adm-${person.upn}` }));
  const regular = pool;

  const partnerSid = `S-1-5-21-${random.int(100_000_000, 4_000_000_000)}-${random.int(100_000_000, 4_000_000_000)}-${random.int(100_000_000, 4_000_000_000)}`;
  const partners: Delegation[] = [];
  for (let i = 0; i < size.partners; i++) {
    const actor = externalPerson(random, names, `${partnerSid}-${random.int(1_000, 900_000)}`);
    const candidates = random.chance(0.5) ? executives : regular;
    partners.push({ actor, mailboxes: random.sample(candidates, random.chance(0.3) ? 2 : 1) });
  }

  // Drawn last, so the people of a seed are what they were before apps existed.
  const apps = ['CRM Connector', 'Invoice Scanner', 'Meeting Room Booking'].map((name) => ({
    app: newApp(random, name, random.chance(0.5) ? 'graph' : 'ews'),
    mailboxes: random.sample(regular, random.int(1, 3)),
  }));
  const backup = { ...newApp(random, 'Contoso Mail Backup', 'graph'), id: BACKUP_APP_ID };

  // Helpdesk people keep their own mailbox (under their display name); their admin accounts act.
  const byUpn = new Map(helpdeskPeople.map((h) => [h.upn, h]));
  return {
    organizationId,
    organizationName: 'contoso.onmicrosoft.com',
    users: users.map((u) => byUpn.get(u.upn) ?? u),
    executives,
    assistants,
    helpdesk,
    partners,
    regular,
    apps,
    backup,
  };
}

/** An app with a random id, calling from the cloud (a documentation IPv6 range of its own). */
export function newApp(random: Random, displayName: string, via: App['via']): App {
  const address = `2001:db8:c10d:${random.hex(3).toLowerCase()}::${random.int(1, 0xfff).toString(16)}`;
  return {
    id: random.uuid(),
    displayName,
    via,
    device: {
      clientIp: random.chance(0.5) ? address : `[${address}]:${random.int(1025, 65000)}`,
      clientIpAddress: address,
      // Graph and REST clients log Client=REST, EWS clients Client=WebServices (docs/detection.md).
      clientInfoString: via === 'graph' ? 'Client=REST;Client=RESTSystem;;' : 'Client=WebServices;',
      machineName: null,
      processName: null,
      version: null,
    },
  };
}

/** A fabrikam.com person who is not one of the tenant's partners (the cross-domain attackers). */
export function outsider(random: Random, tenant: Tenant, taken: ReadonlySet<string>): Person {
  const names = new NameBook(
    random,
    new Set([...taken, ...tenant.partners.map((p) => p.actor.upn.toLowerCase())]),
  );
  return externalPerson(
    random,
    names,
    `S-1-5-21-${random.int(100_000_000, 4_000_000_000)}-${random.int(1_000, 900_000)}`,
  );
}

function internalPerson(random: Random, names: NameBook, domain: string, sid: string): Person {
  const { first, last } = names.next();
  const local = domain === 'contoso.com' ? `${first}${last[0]}` : `${first}.${last}`.toLowerCase();
  const upn = names.unique(local, domain);
  const eu = domain === 'contoso.co.uk';
  return {
    upn,
    displayName: `${first} ${last}`,
    sid,
    userKey: puid(random),
    domain,
    mailboxGuid: random.uuid(),
    originatingServer: server(random, eu),
    devices: Array.from({ length: random.int(1, 3) }, () => device(random, eu ? 'eu' : 'us')),
  };
}

function externalPerson(random: Random, names: NameBook, sid: string): Person {
  const { first, last } = names.next();
  const upn = names.unique(`${first[0]}.${last}`.toLowerCase(), PARTNER_DOMAIN);
  return {
    upn,
    displayName: `${first} ${last} (Fabrikam)`,
    sid,
    userKey: puid(random),
    domain: PARTNER_DOMAIN,
    mailboxGuid: null,
    originatingServer: server(random, false),
    devices: [device(random, 'partner')],
  };
}

/** The PUID shape of user_key: 16 upper-case hex digits starting 1003. */
function puid(random: Random): string {
  return `1003${random.hex(12)}`;
}

const SERVER_PREFIXES = {
  us: ['MWHPR', 'BN6PR', 'CY4PR', 'SN6PR', 'DM6PR'],
  eu: ['AM0PR', 'DB8PR', 'LO2P', 'VI1PR', 'HE1PR'],
};

function server(random: Random, eu: boolean): string {
  const prefix = random.pick(eu ? SERVER_PREFIXES.eu : SERVER_PREFIXES.us);
  return `${prefix}${random.int(10, 19)}MB${random.int(1000, 9999)} (15.20.${random.int(4000, 8999)}.${String(random.int(0, 40)).padStart(3, '0')})`;
}

const CLIENTS = [
  {
    info: 'Client=OUTLOOK.EXE;Client=MSExchangeRPC',
    process: 'OUTLOOK.EXE',
    version: () => '16.0.17928.20114',
  },
  { info: 'Client=OWA;Action=ViaProxy', process: null, version: () => null },
  { info: 'Client=REST;Client=RESTSystem;;', process: null, version: () => null },
  {
    info: 'Client=OutlookService;Outlook-iOS/2.0;',
    process: null,
    version: () => null,
  },
  { info: 'Client=Microsoft Outlook 16.0.17928', process: 'outlook.exe', version: () => '16.0.17928.20114' },
] as const;

/**
 * Documentation address ranges only (RFC 5737, RFC 3849), written in the shapes the audit log uses:
 * a bare IPv4, IPv4 with a port, a bracketed IPv6 with a port, a bare IPv6.
 */
function device(random: Random, where: 'us' | 'eu' | 'partner'): Device {
  const client = random.pick(CLIENTS);
  const v6 = random.chance(0.35);
  let address: string;
  if (v6) {
    const site = where === 'partner' ? 'fab' : where === 'eu' ? 'e0' : 'a0';
    address = `2001:db8:${site}:${random.hex(3).toLowerCase()}::${random.int(1, 0xfff).toString(16)}`;
  } else {
    const net = where === 'partner' ? '198.51.100' : where === 'eu' ? '192.0.2' : '203.0.113';
    address = `${net}.${random.int(1, 254)}`;
  }
  const port = random.int(1025, 65000);
  const shape = random.int(0, 2);
  const clientIp = v6
    ? shape === 0
      ? address
      : `[${address}]:${port}`
    : shape === 0
      ? `${address}:${port}`
      : address;
  return {
    clientIp,
    clientIpAddress: random.chance(0.85) ? address : null,
    clientInfoString: client.info,
    machineName:
      client.process === null ? null : `${where === 'eu' ? 'UK' : 'US'}-LT${random.int(1000, 9999)}`,
    processName: client.process,
    version: client.version(),
  };
}

const FIRST = [
  'Adele',
  'Alex',
  'Allan',
  'Amara',
  'Ben',
  'Bianca',
  'Brian',
  'Carla',
  'Chen',
  'Christie',
  'Dan',
  'Diego',
  'Elena',
  'Emily',
  'Enrico',
  'Farah',
  'Grady',
  'Hana',
  'Henrietta',
  'Isaiah',
  'Ivana',
  'Jamal',
  'Joni',
  'Kenji',
  'Lee',
  'Lidia',
  'Lynne',
  'Megan',
  'Miriam',
  'Nestor',
  'Nia',
  'Omar',
  'Patti',
  'Pradeep',
  'Quinn',
  'Raul',
  'Rosa',
  'Sanjay',
  'Sofia',
  'Tariq',
  'Tomas',
  'Uma',
  'Victor',
  'Wen',
  'Xavier',
  'Yara',
  'Zoe',
];
const LAST = [
  'Vance',
  'Wilber',
  'Deyoung',
  'Okafor',
  'Stein',
  'Rossi',
  'Holt',
  'Mendes',
  'Wei',
  'Cline',
  'Park',
  'Alvarez',
  'Ivanova',
  'Braun',
  'Ricci',
  'Haddad',
  'Archie',
  'Sato',
  'Gerhart',
  'Langer',
  'Novak',
  'Jones',
  'Sherman',
  'Ito',
  'Gu',
  'Holloway',
  'Guthrie',
  'Bowen',
  'Cohen',
  'Fernandes',
  'Adeyemi',
  'Nasser',
  'Fernandez',
  'Kumar',
  'Byrne',
  'Ortiz',
  'Silva',
  'Iyer',
  'Costa',
  'Aziz',
  'Kral',
  'Thurman',
  'Moreau',
  'Zhang',
  'Dubois',
  'Haddad',
  'Meyer',
];

/** Draws names and keeps UPNs unique (AdeleV, AdeleV2, …). */
class NameBook {
  private readonly taken: Set<string>;

  constructor(
    private readonly random: Random,
    taken: ReadonlySet<string> = new Set(),
  ) {
    this.taken = new Set(taken);
  }

  next(): { first: string; last: string } {
    return { first: this.random.pick(FIRST), last: this.random.pick(LAST) };
  }

  unique(local: string, domain: string): string {
    for (let n = 1; ; n++) {
      const upn = `${n === 1 ? local : `${local}${n}`}@${domain}`;
      if (!this.taken.has(upn.toLowerCase())) {
        this.taken.add(upn.toLowerCase());
        return upn;
      }
    }
  }
}
