// Renders src/generated/ from the Codama IDL idl/gradual.json with Codama's
// JavaScript renderer (@codama/renderers-js, for @solana/kit).
//
//   node render.mjs           rewrite src/generated/
//   node render.mjs --check   render elsewhere and fail if src/generated/ differs
//
// The renderer does not render `eventNode`s yet, so each event is also given
// to it as a defined type `<event>Event` (codecs `get<Event>EventDecoder` …);
// events stay in the IDL as they are.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accountNode, bottomUpTransformerVisitor, createFromRoot, instructionNode, programNode } from 'codama';
import { renderVisitor } from '@codama/renderers-js';

const here = dirname(fileURLToPath(import.meta.url));
const idlPath = join(here, '..', '..', 'idl', 'gradual.json');
const check = process.argv.includes('--check');

const root = JSON.parse(readFileSync(idlPath, 'utf8'));
const program = root.program;
program.definedTypes = [
  ...(program.definedTypes ?? []),
  ...(program.events ?? []).map((event) => ({
    kind: 'definedTypeNode',
    name: `${event.name}Event`,
    docs: event.docs ?? [],
    type: event.data,
  })),
];

// The IDL, as Codama's Rust crates write it, leaves out empty lists
// (`extraArguments: []`, …) that the JavaScript renderer reads without a
// default: Codama's own node constructors put them back.
const normalise = bottomUpTransformerVisitor([
  { select: '[instructionNode]', transform: (node) => instructionNode(node) },
  { select: '[accountNode]', transform: (node) => accountNode(node) },
  { select: '[programNode]', transform: (node) => programNode(node) },
]);
const codama = () => {
  const codama = createFromRoot(root);
  codama.update(normalise);
  return codama;
};

const options = { syncPackageJson: false };
if (!check) {
  await codama().accept(renderVisitor(here, options));
  console.log(`render: wrote ${relative(process.cwd(), join(here, 'src', 'generated')) || '.'}`);
} else {
  // Rendered inside this package, so that Prettier resolves the same options.
  const scratch = mkdtempSync(join(here, '.render-check-'));
  try {
    const generatedFolder = join(relative(here, scratch), 'generated');
    await codama().accept(renderVisitor(here, { ...options, generatedFolder }));
    const differences = compare(join(scratch, 'generated'), join(here, 'src', 'generated'));
    if (differences.length > 0) {
      console.error(
        `render: clients/js/src/generated is not what idl/gradual.json renders (${differences.length} files differ:` +
          ` ${differences.slice(0, 5).join(', ')}). Run \`make idl\`.`,
      );
      process.exitCode = 1;
    } else {
      console.log('render: clients/js/src/generated is what idl/gradual.json renders');
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Relative paths whose content differs between two trees, or that only one has. */
function compare(expected, actual) {
  const files = (dir) =>
    existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
      .sort() : [];
  const names = [...new Set([...files(expected), ...files(actual)])].sort();
  return names.filter((name) => {
    const read = (dir) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : null);
    return read(expected) !== read(actual);
  });
}
