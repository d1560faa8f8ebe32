/**
 * A test that returns early passes without checking anything. Under CI=true a test that cannot run must
 * fail, and elsewhere it must say why it skipped: only through test/support/stack.ts (requireStack, or
 * skipOrFail for a missing capability), never a bare `return` or `return t.skip(…)` of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The functions a file declares that go through requireStack (set-ups that give undefined without a stack). */
function guardsIn(file: ts.SourceFile): string[] {
  return file.statements.flatMap((statement) =>
    ts.isFunctionDeclaration(statement) && statement.name && /\brequireStack\(/.test(statement.getText(file))
      ? [statement.name.text]
      : [],
  );
}

/** test/support's set-ups that go through requireStack (e.g. pipelineTopics). */
const SUPPORT_GUARDS = readdirSync(join(ROOT, 'test/support'))
  .filter((name) => name.endsWith('.ts'))
  .flatMap((name) => {
    const path = join(ROOT, 'test/support', name);
    return guardsIn(ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true));
  });

/** The early returns in a test's own body that would read as a pass, as `line: text`. */
function passingReturns(
  source: string,
  fileName = 'x.test.ts',
  supportGuards: readonly string[] = SUPPORT_GUARDS,
): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true);
  // requireStack itself, test/support's set-ups and this file's own that go through it.
  const guards = new Set(['requireStack', ...supportGuards, ...guardsIn(file)]);
  const fromRequireStack = new Set<string>();
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      ts.isAwaitExpression(node.initializer) &&
      ts.isCallExpression(node.initializer.expression) &&
      guards.has(node.initializer.expression.expression.getText(file))
    ) {
      fromRequireStack.add(node.name.text);
    }
    if (ts.isReturnStatement(node) && inTestBody(node) && readsAsPass(node, fromRequireStack, file)) {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
      found.push(`${line + 1}: ${source.split('\n')[line]!.trim()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** True when the nearest function around the node is the callback given to test()/it()/t.test(). */
function inTestBody(node: ts.Node): boolean {
  let at: ts.Node | undefined = node.parent;
  while (at && !ts.isFunctionLike(at)) at = at.parent;
  const call = at?.parent;
  if (!call || !ts.isCallExpression(call)) return false;
  const callee = call.expression;
  const name = ts.isIdentifier(callee)
    ? callee.text
    : ts.isPropertyAccessExpression(callee)
      ? callee.name.text
      : '';
  return name === 'test' || name === 'it';
}

function readsAsPass(node: ts.ReturnStatement, fromRequireStack: Set<string>, file: ts.SourceFile): boolean {
  const value = node.expression;
  if (value) {
    // `return t.skip(…)` skips even under CI; `return undefined` is a bare return.
    if (ts.isCallExpression(value)) return /\.(skip|todo)$/.test(value.expression.getText(file));
    return value.getText(file) === 'undefined';
  }
  // `if (!stack) return;` right after `const stack = await requireStack(t)` is fine: requireStack has
  // already failed the test under CI, or skipped it with its reason.
  const condition = ts.isIfStatement(node.parent) ? node.parent.expression : undefined;
  return !(
    condition &&
    ts.isPrefixUnaryExpression(condition) &&
    condition.operator === ts.SyntaxKind.ExclamationToken &&
    ts.isIdentifier(condition.operand) &&
    fromRequireStack.has(condition.operand.text)
  );
}

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return /\.i?test\.ts$/.test(name) ? [path] : [];
  });
}

test('the detector flags returns that read as a pass and allows the requireStack guard', () => {
  const flagged = passingReturns(`
    test('a', async (t) => {
      const stack = await requireStack(t);
      if (!stack) return;
      if (!stack.sasl) {
        t.skip('no SASL');
        return;
      }
      if (!stack?.tls) return;
      if (stack.source !== 'local') return t.skip('not local');
      if (stack.x) return undefined;
      await helper(() => { if (done) return; });
      return skipOrFail(t, 'reason');
    });
    async function setUp(t) { const stack = await requireStack(t); return stack && { stack }; }
    test('b', async (t) => {
      const s = await setUp(t);
      if (!s) return;
      const u = await other(t);
      if (!u) return;
    });
    function helper() { if (x) return; }
  `);
  assert.deepEqual(
    flagged.map((line) => Number(line.split(':')[0])),
    [7, 9, 10, 11, 20],
    flagged.join('\n'),
  );
});

test("test/support's set-ups that go through requireStack guard as requireStack does", () => {
  assert.ok(SUPPORT_GUARDS.includes('pipelineTopics'), SUPPORT_GUARDS.join(', '));
  const source = `
    test('c', async (t) => {
      const given = await pipelineTopics(t, 1);
      if (!given) return;
    });
  `;
  assert.deepEqual(passingReturns(source, 'x.test.ts', ['pipelineTopics']), []);
  assert.deepEqual(
    passingReturns(source, 'x.test.ts', []).map((line) => Number(line.split(':')[0])),
    [4],
    'without it, the same return reads as a pass',
  );
});

test('no test under test/ returns early in a way that reads as a pass', () => {
  const offenders = testFiles(join(ROOT, 'test')).flatMap((path) =>
    passingReturns(readFileSync(path, 'utf8'), path).map((hit) => `${relative(ROOT, path)}:${hit}`),
  );
  assert.deepEqual(
    offenders,
    [],
    'use requireStack, or `return skipOrFail(t, reason)` (test/support/stack.ts), which fails under CI',
  );
});
