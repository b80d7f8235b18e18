// The formatters of `descope-run show`: the YAML emitter (exact output for a table of tricky values,
// since no YAML parser is a dependency), the tables of each view (columns, alignment, truncation,
// empty views, control characters), and the json/yaml values (canonical records in key order).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeRole, normalizeTenant, type CanonicalRole, type CanonicalTenant, type RoleLike, type TenantLike } from '../../src/runtime/model.ts';
import {
  computeShowValue,
  formatShow,
  formatShowTable,
  formatTable,
  formatYaml,
  truncateCell,
  type ShowData,
} from '../../src/runner/cli/show-view.ts';

const PROJECT = 'project P2testProjectA00000000000000';

/** Canonical records as the live side makes them (the same normaliser, so the same key order). */
function tenant(id: string, extra: Partial<TenantLike> = {}): CanonicalTenant {
  return normalizeTenant({ id, name: id[0]!.toUpperCase() + id.slice(1), ...extra });
}

function role(name: string, extra: Partial<RoleLike> = {}): CanonicalRole {
  return normalizeRole({ name, ...extra });
}

describe('formatYaml: strings', () => {
  // [value, the exact scalar written]. Plain only when no YAML 1.1 or 1.2 reader could read it as
  // anything but that string; otherwise double-quoted with JSON escapes.
  const cases: [string, string][] = [
    ['acme', 'acme'],
    ['Acme Corp', 'Acme Corp'],
    ['', '""'],
    [' leading', '" leading"'],
    ['trailing ', '"trailing "'],
    ['a: b', '"a: b"'],
    ['key:', '"key:"'],
    ['a:b', 'a:b'],
    ['http://x.example/y?z=1', 'http://x.example/y?z=1'],
    ['a #comment', '"a #comment"'],
    ['C#', 'C#'],
    ['#first', '"#first"'],
    ['true', '"true"'],
    ['False', '"False"'],
    ['NULL', '"NULL"'],
    ['~', '"~"'],
    ['yes', '"yes"'],
    ['No', '"No"'],
    ['on', '"on"'],
    ['OFF', '"OFF"'],
    ['y', '"y"'],
    ['n', '"n"'],
    ['yesterday', 'yesterday'],
    ['123', '"123"'],
    ['1.5', '"1.5"'],
    ['-1', '"-1"'],
    ['+1', '"+1"'],
    ['.5', '".5"'],
    ['.inf', '".inf"'],
    ['.NaN', '".NaN"'],
    ['0x1F', '"0x1F"'],
    ['1e3', '"1e3"'],
    ['1_000', '"1_000"'],
    ['2026-11-21', '"2026-11-21"'],
    ['1:20:30', '"1:20:30"'],
    ['v1.2.3', 'v1.2.3'],
    ['line\nbreak', '"line\\nbreak"'],
    ['crlf\r\n', '"crlf\\r\\n"'],
    ['tab\there', '"tab\\there"'],
    ['bell\u0007', '"bell\\u0007"'],
    ['esc\u001b[31m', '"esc\\u001b[31m"'],
    ['del\u007f', '"del\\u007f"'],
    ['nel\u0085', '"nel\\u0085"'],
    ['ls\u2028', '"ls\\u2028"'],
    ['\ufeffbom', '"\\ufeffbom"'],
    // Issue 11, item 8: bidi, zero-width and tag characters are escaped too (an astral one as YAML's \U).
    ['rev\u202eersed', '"rev\\u202eersed"'],
    ['csi\u009b2K', '"csi\\u009b2K"'],
    ['zw\u200bsp', '"zw\\u200bsp"'],
    ['tag\u{e0041}', '"tag\\U000e0041"'],
    // Like JSON, YAML escapes every such character (the value is the same): an emoji's selector too.
    ['emoji ❤️', '"emoji ❤\\ufe0f"'],
    ['quote"inside', 'quote"inside'],
    ['"quoted"', '"\\"quoted\\""'],
    ["it's", "it's"],
    ["'single'", `"'single'"`],
    ['back\\slash', 'back\\slash'],
    ['- item', '"- item"'],
    ['-', '"-"'],
    ['? key', '"? key"'],
    [': x', '": x"'],
    ['[a, b]', '"[a, b]"'],
    ['{a: b}', '"{a: b}"'],
    ['a, b [c] {d}', 'a, b [c] {d}'],
    ['*alias', '"*alias"'],
    ['&anchor', '"&anchor"'],
    ['!tag', '"!tag"'],
    ['|', '"|"'],
    ['>folded', '">folded"'],
    ['%YAML', '"%YAML"'],
    ['@at', '"@at"'],
    ['`tick', '"`tick"'],
    [',comma', '",comma"'],
    ['---', '"---"'],
    ['...', '"..."'],
    ['<<', '"<<"'],
    ['=', '"="'],
    ['é ünïcode', 'é ünïcode'],
    ['emoji 🎉', 'emoji 🎉'],
  ];
  for (const [value, expected] of cases) {
    test(JSON.stringify(value), () => {
      assert.equal(formatYaml(value), expected);
      assert.equal(formatYaml([value]), `- ${expected}`);
      assert.equal(formatYaml({ [value]: 1 }), `${expected}: 1`, 'the same rule for keys');
    });
  }
});

describe('formatYaml: other scalars and structure', () => {
  const cases: [string, unknown, string][] = [
    ['null', null, 'null'],
    ['booleans', [true, false], '- true\n- false'],
    ['numbers', [0, -3, 1.5, 1.5e-7, 1e21, -2e-7], '- 0\n- -3\n- 1.5\n- 1.5e-7\n- 1.0e+21\n- -2.0e-7'],
    ['a number that is not finite, as JSON writes it', [Number.NaN, Number.POSITIVE_INFINITY], '- null\n- null'],
    ['empty collections', { a: [], b: {} }, 'a: []\nb: {}'],
    ['an empty array alone', [], '[]'],
    ['an empty object alone', {}, '{}'],
    ['undefined members are left out, as JSON leaves them', { a: undefined, b: 1 }, 'b: 1'],
    ['an object of only undefined is empty', { a: undefined }, '{}'],
    ['an undefined item is null', [undefined], '- null'],
    ['a mapping in a sequence', [{ id: 'acme', name: 'Acme' }, { id: 'globex' }], '- id: acme\n  name: Acme\n- id: globex'],
    ['a sequence in a mapping', { domains: ['a.com', 'b.com'] }, 'domains:\n  - a.com\n  - b.com'],
    ['a sequence in a sequence', [[1, [2, []]], 3], '- - 1\n  - - 2\n    - []\n- 3'],
    [
      'deep nesting',
      { a: { b: [{ c: null, d: [true, { e: 'x' }] }] } },
      'a:\n  b:\n    - c: null\n      d:\n        - true\n        - e: x',
    ],
    ['a multi-line string stays on one line', { description: 'one\ntwo' }, 'description: "one\\ntwo"'],
    ['key order is kept', { z: 1, a: 2 }, 'z: 1\na: 2'],
  ];
  for (const [name, value, expected] of cases) {
    test(name, () => assert.equal(formatYaml(value), expected));
  }

  test('not a JSON value: a TypeError, never silent output', () => {
    assert.throws(() => formatYaml(() => 1), TypeError);
    assert.throws(() => formatYaml([Symbol('x')]), TypeError);
  });
});

describe('formatTable', () => {
  test('aligned columns, two spaces apart, the last column not padded', () => {
    assert.deepEqual(formatTable(['A', 'LONG HEADER', 'C'], [['xyz', 'b', 'c'], ['x', 'bb', '']]), [
      'A    LONG HEADER  C',
      'xyz  b            c',
      'x    bb',
    ]);
  });

  test('a long cell is cut with "…" to the column maximum; widths count characters, not UTF-16 units', () => {
    assert.equal(truncateCell('abcdef', 4), 'abc…');
    assert.equal(truncateCell('abcd', 4), 'abcd');
    assert.equal(truncateCell('🎉🎉🎉🎉🎉', 3), '🎉🎉…');
    const lines = formatTable(['NAME', 'X'], [['a'.repeat(50), 'x'], ['🎉', 'y']], [10, 10]);
    assert.deepEqual(lines, ['NAME        X', 'aaaaaaaaa…  x', '🎉           y']);
  });

  test('control characters in a live value never reach the terminal', () => {
    const [, row] = formatTable(['NAME', 'X'], [['evil\u001b[2J\nname\there', 'x']]);
    assert.equal(row, 'evil\\u001b[2J\\nname\\there  x');
  });
});

describe('formatShowTable', () => {
  test('tenants: every column, sets joined, "-" for none, yes/no, the SSO type from the list', () => {
    const data: ShowData = {
      view: 'tenants',
      tenants: {
        globex: tenant('globex', { parent: 'acme', enforceSSO: true, disabled: true }),
        acme: tenant('acme', { selfProvisioningDomains: ['acme.com', 'acme.io'], defaultRoles: ['Agent', 'Reader'] }),
      },
      authTypes: { acme: 'oidc', globex: 'none' },
    };
    assert.deepEqual(formatShowTable(data, PROJECT), [
      'ID      NAME    DOMAINS            PARENT  DEFAULT ROLES  SSO   ENFORCE SSO  DISABLED',
      'acme    Acme    acme.com, acme.io  -       Agent, Reader  oidc  no           no',
      'globex  Globex  -                  acme    -              none  yes          yes',
    ]);
  });

  test('tenants: an SSO type the list does not report is "-"', () => {
    const lines = formatShowTable({ view: 'tenants', tenants: { acme: tenant('acme') }, authTypes: {} }, PROJECT);
    assert.match(lines[1]!, /^acme\s+Acme\s+-\s+-\s+-\s+-\s+no\s+no$/);
  });

  test('roles: by address, project roles and tenant roles, a long description cut', () => {
    const long = 'Reads every document in every space, including the archived ones from before the migration';
    const data: ShowData = {
      view: 'roles',
      roles: {
        'roles/Reader': role('Reader', { permissions: ['docs.list', 'docs.read'], default: true, description: long }),
        'roles/acme/Agent': role('Agent', { tenant: 'acme' }),
      },
    };
    assert.deepEqual(formatShowTable(data, PROJECT), [
      'ROLE              TENANT  PERMISSIONS           DEFAULT  DESCRIPTION',
      `roles/Reader      -       docs.list, docs.read  yes      ${long.slice(0, 59)}…`,
      'roles/acme/Agent  acme    -                     no       -',
    ]);
  });

  test('permissions and flows', () => {
    assert.deepEqual(
      formatShowTable({ view: 'permissions', permissions: { 'docs.write': { name: 'docs.write', description: '' }, 'docs.read': { name: 'docs.read', description: 'Read docs' } } }, PROJECT),
      ['NAME        DESCRIPTION', 'docs.read   Read docs', 'docs.write  -'],
    );
    assert.deepEqual(
      formatShowTable(
        {
          view: 'flows',
          flows: {
            'sign-up-or-in': { id: 'sign-up-or-in', name: 'Sign Up or In', description: 'The main flow', disabled: false },
            'step-up': { id: 'step-up', name: 'Step Up', description: '', disabled: true },
          },
        },
        PROJECT,
      ),
      ['ID             NAME           DISABLED  DESCRIPTION', 'sign-up-or-in  Sign Up or In  no        The main flow', 'step-up        Step Up        yes       -'],
    );
  });

  test('theme: one row per top-level key with its type and size', () => {
    const theme = { cssTemplate: { dark: { colors: { primary: '#000' } }, light: {} }, styles: [1, 2, 3], name: 'Brand', version: 3 };
    assert.deepEqual(formatShowTable({ view: 'theme', theme }, PROJECT), [
      'KEY          TYPE    SIZE',
      'cssTemplate  object  2 keys, 49 B',
      'name         string  5 chars',
      'styles       array   3 items, 7 B',
      'version      number  3',
    ]);
    const big = { cssTemplate: { css: 'x'.repeat(3000) } };
    assert.deepEqual(formatShowTable({ view: 'theme', theme: big }, PROJECT)[1], 'cssTemplate  object  1 key, 2.9 kB');
  });

  test('an empty view says so, naming the project', () => {
    assert.deepEqual(formatShowTable({ view: 'tenants', tenants: {}, authTypes: {} }, PROJECT), [`No tenants in ${PROJECT}.`]);
    assert.deepEqual(formatShowTable({ view: 'roles', roles: {} }, PROJECT), [`No roles in ${PROJECT}.`]);
    assert.deepEqual(formatShowTable({ view: 'permissions', permissions: {} }, PROJECT), [`No permissions in ${PROJECT}.`]);
    assert.deepEqual(formatShowTable({ view: 'flows', flows: {} }, PROJECT), [`No flows in ${PROJECT}.`]);
    assert.deepEqual(formatShowTable({ view: 'theme', theme: { cssTemplate: {} } }, PROJECT), [`No theme in ${PROJECT}.`]);
  });
});

describe('json and yaml', () => {
  const data: ShowData = {
    view: 'roles',
    roles: { 'roles/b': role('b'), 'roles/acme/a': role('a', { tenant: 'acme', permissions: ['p'] }) },
  };

  test('the canonical records as an array in address order; the theme as its object', () => {
    assert.deepEqual(computeShowValue(data), [role('a', { tenant: 'acme', permissions: ['p'] }), role('b')]);
    const theme = { cssTemplate: { a: 1 } };
    assert.equal(computeShowValue({ view: 'theme', theme }), theme);
    assert.deepEqual(computeShowValue({ view: 'tenants', tenants: {}, authTypes: { x: 'oidc' } }), [], 'the authType is not a canonical field');
  });

  test('formatShow: json parses back to the records; yaml is the same value', () => {
    assert.deepEqual(JSON.parse(formatShow(data, 'json', PROJECT).join('\n')), computeShowValue(data));
    assert.deepEqual(formatShow(data, 'yaml', PROJECT), [
      [
        '- name: a',
        '  tenant: acme',
        '  description: ""',
        '  permissions:',
        '    - p',
        '  default: false',
        '- name: b',
        '  description: ""',
        '  permissions: []',
        '  default: false',
      ].join('\n'),
    ]);
    assert.deepEqual(formatShow({ view: 'flows', flows: {} }, 'json', PROJECT), ['[]']);
    assert.deepEqual(formatShow({ view: 'flows', flows: {} }, 'yaml', PROJECT), ['[]']);
  });
});
