import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The code between `// README:start` and `// README:end` in `testFile`,
 * without the parts between `// README:pause` and `// README:resume`, each
 * part dedented — what the README must show.
 */
export function markedSnippet(testFile: string): string {
  const source = readFileSync(testFile, 'utf8');
  const marked = source.slice(source.indexOf('// README:start\n') + '// README:start\n'.length, source.indexOf('// README:end'));
  const parts = marked.split(/\/\/ README:pause\n[\s\S]*?\/\/ README:resume\n/);
  return parts
    .map((part) => dedent(part))
    .join('\n')
    .trim();
}

/** The first ```ts block after `heading` in the package's README.md. */
export function readmeBlock(heading: RegExp): string | undefined {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  return new RegExp(`${heading.source}[\\s\\S]*?\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1]?.trim();
}

function dedent(text: string): string {
  const lines = text.split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join('\n');
}
