// A node:test reporter that counts the tests each file ran and writes `{ file: count }` as JSON
// to its destination: what `runTests` reads to catch a test file that runs no test at all (a
// file whose tests were never registered passes silently otherwise).

interface TestEvent {
  type: string;
  data: { file?: string; name?: string; details?: { type?: string } };
}

export default async function* countTestsPerFile(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const perFile: Record<string, number> = {};
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    // Suites (describe) report too, and a file that registered no test is reported as one test
    // named after the file itself: only real tests count.
    const { file, name, details } = event.data;
    if (details?.type === "suite" || !file || name === file) continue;
    perFile[file] = (perFile[file] ?? 0) + 1;
  }
  yield JSON.stringify(perFile);
}
