// `titan create ext` questions: turns the flags into complete CreateExtOptions, asking only what
// the flags leave open, and only on an interactive terminal without --yes (otherwise defaults).

import { confirm, input, select } from "@inquirer/prompts";
import path from "node:path";
import { CliError } from "../../errors.js";
import { defaultNamespace, namespaceProblem } from "./names.js";
import { DEFAULT_KIND, EXTENSION_KINDS, type CreateExtFlags, type CreateExtOptions } from "./options.js";
import { assertExtensionName, descriptionProblem, STANDARD_PLACEHOLDERS } from "./run.js";
import { availableKinds, findTemplate, readTemplateManifest, templatesRoot } from "./templates.js";

const FALLBACK_DESCRIPTION = "A Titan native extension";

export async function resolveCreateExtOptions(
  name: string,
  flags: CreateExtFlags,
  context: { interactive: boolean; cwd: string; note: (line: string) => void },
): Promise<CreateExtOptions> {
  // A bad name is refused before anything is asked.
  assertExtensionName(name);
  const ask = context.interactive && !flags.yes;
  const usingDefault = (what: string, flag: string): void => {
    if (!flags.yes) context.note(`${what} (default; ${flag})`);
  };

  const root = templatesRoot();
  let kind = flags.kind;
  if (kind === undefined) {
    const kinds = availableKinds(root);
    if (ask && kinds.length > 1) {
      kind = await select<string>({
        message: "Kind of extension:",
        choices: [...new Set([...EXTENSION_KINDS, ...kinds])].map((candidate) =>
          kinds.includes(candidate)
            ? { name: candidate, value: candidate, description: readTemplateManifest(path.join(root, candidate)).description }
            : { name: candidate, value: candidate, disabled: "(no template in this titan yet)" },
        ),
        default: DEFAULT_KIND,
      });
    } else {
      kind = DEFAULT_KIND;
      usingDefault(`kind: ${kind}`, `--kind ${EXTENSION_KINDS.join("|")}`);
    }
  }
  const template = findTemplate(kind, root);

  let namespace = flags.namespace;
  if (namespace === undefined) {
    const fallback = defaultNamespace(name);
    if (ask) {
      namespace = await input({
        message: "JS namespace (t.<namespace>):",
        default: namespaceProblem(fallback) === undefined ? fallback : undefined,
        validate: (value) => namespaceProblem(value) ?? true,
      });
    } else {
      const problem = namespaceProblem(fallback);
      if (problem) {
        throw new CliError(`the default namespace for ${name} does not work: ${problem}`, { hint: "pass one with --namespace <js identifier>, e.g. --namespace myDb" });
      }
      namespace = fallback;
      usingDefault(`namespace: t.${namespace}`, "--namespace <name>");
    }
  }

  const placeholderDefault = template.placeholders.description?.default;
  const descriptionDefault = typeof placeholderDefault === "string" && placeholderDefault !== "" ? placeholderDefault : FALLBACK_DESCRIPTION;
  let description = flags.description;
  if (description === undefined) {
    if (ask) {
      description = await input({ message: "Description (one line):", default: descriptionDefault, validate: (value) => descriptionProblem(value) ?? true });
    } else {
      description = descriptionDefault;
    }
  }

  // Placeholders a template declares beyond the standard ones: asked when interactive, else their defaults.
  const placeholders: Record<string, string | boolean> = {};
  if (ask) {
    for (const [key, placeholder] of Object.entries(template.placeholders)) {
      if (STANDARD_PLACEHOLDERS.has(key)) continue;
      const message = `${placeholder.prompt ?? key}:`;
      if (placeholder.type === "bool") {
        placeholders[key] = await confirm({ message, default: placeholder.default === true });
      } else if (placeholder.choices && placeholder.choices.length > 0) {
        placeholders[key] = await select<string>({
          message,
          choices: placeholder.choices.map((choice) => ({ name: choice, value: choice })),
          default: typeof placeholder.default === "string" ? placeholder.default : undefined,
        });
      } else {
        const pattern = placeholder.regex ? new RegExp(placeholder.regex) : undefined;
        placeholders[key] = await input({
          message,
          default: typeof placeholder.default === "string" ? placeholder.default : undefined,
          validate: (value) => (pattern && !pattern.test(value) ? `must match ${placeholder.regex}` : true),
        });
      }
    }
  }

  return { name, kind, namespace, description, dir: flags.dir ?? name, cwd: context.cwd, placeholders };
}
