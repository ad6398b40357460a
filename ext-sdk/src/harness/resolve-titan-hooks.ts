// The hooks registered by resolve-titan.ts (they run on Node's loader thread).

const PACKAGE_ROOT = new URL("../../", import.meta.url);

type Resolve = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, nextResolve: Resolve): Promise<{ url: string }> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (specifier !== "titan" && !specifier.startsWith("titan/")) throw error;
    // Resolve as if imported from inside this package, whose name is `titan`.
    return nextResolve(specifier, { ...(context as object), parentURL: new URL("package.json", PACKAGE_ROOT).href });
  }
}
