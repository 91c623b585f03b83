// Shared by the packages' readme-example tests: the README's first ```ts block and the test's code
// between the `// ---- README code starts ----` / `// ---- README code ends ----` markers, each as
// trimmed non-empty lines without import lines (the README imports '@road/<name>', the test './index.js').
import { readFileSync } from 'node:fs';

/** Trimmed, non-empty lines of `text`, import lines left out. */
function codeLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('import '));
}

/**
 * Reads the first ```ts block of the README at `readmeUrl` and the marked README code of the test
 * file at `testUrl`; returns both as comparable lines (empty arrays where a block or marker is missing).
 */
export function readmeAndTestCode(readmeUrl: URL, testUrl: URL): { readme: string[]; test: string[] } {
  const block = /```ts\n([\s\S]*?)```/.exec(readFileSync(readmeUrl, 'utf8'))?.[1] ?? '';
  const body =
    /\/\/ ---- README code starts ----\n([\s\S]*?)\s*\/\/ ---- README code ends ----/.exec(
      readFileSync(testUrl, 'utf8'),
    )?.[1] ?? '';
  return { readme: codeLines(block), test: codeLines(body) };
}
