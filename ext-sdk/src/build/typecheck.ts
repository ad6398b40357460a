// Strict type-checking of TypeScript apps with the compiler API. One TypeChecker lives as long as
// `titan dev` does: it hands the previous builder program to the next check and keeps parsed
// files (lib.*.d.ts above all) whose content did not change, so a re-check costs only what changed.

import { statSync } from "node:fs";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import ts from "typescript";

export interface TypeCheckResult {
  errorCount: number;
  /** One plain-text line (or few) per diagnostic, without colors or code frames. */
  diagnostics: string[];
  /** Diagnostics with code frames, colored if asked; empty when there are none. */
  report: string;
}

/** Options forced over the app's tsconfig: the gate is always strict, and the CLI never emits JS with tsc. */
const FORCED_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  // These would make tsc write .tsbuildinfo files or refuse noEmit.
  incremental: false,
  composite: false,
  emitDeclarationOnly: false,
};

interface CachedSourceFile {
  mtimeMs: number;
  size: number;
  languageVersion: string;
  sourceFile: ts.SourceFile;
}

export class TypeChecker {
  private previous: ts.SemanticDiagnosticsBuilderProgram | undefined;
  private readonly sourceFiles = new Map<string, CachedSourceFile>();
  private readonly tsconfigPath: string;

  constructor(private readonly appDir: string) {
    this.tsconfigPath = path.join(appDir, "tsconfig.json");
  }

  check(options: { color: boolean }): TypeCheckResult {
    const configDiagnostics: ts.Diagnostic[] = [];
    const parsed = ts.getParsedCommandLineOfConfigFile(this.tsconfigPath, FORCED_OPTIONS, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => configDiagnostics.push(diagnostic),
    });
    if (!parsed) return this.result(configDiagnostics, options.color);

    const host = this.createHost(parsed.options);
    const program = ts.createSemanticDiagnosticsBuilderProgram(
      parsed.fileNames,
      parsed.options,
      host,
      this.previous,
      parsed.errors,
      parsed.projectReferences,
    );
    this.previous = program;
    const diagnostics = [
      ...program.getConfigFileParsingDiagnostics(),
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...program.getSyntacticDiagnostics(),
      ...program.getSemanticDiagnostics(),
    ];
    return this.result(diagnostics, options.color);
  }

  /** The standard incremental host (it versions files by content hash, as builder programs need), plus the parse cache. */
  private createHost(compilerOptions: ts.CompilerOptions): ts.CompilerHost {
    const host = ts.createIncrementalCompilerHost(compilerOptions);
    const readAndParse = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
      let stats;
      try {
        stats = statSync(fileName);
      } catch {
        return readAndParse(fileName, languageVersionOrOptions, onError, shouldCreate);
      }
      const languageVersion = JSON.stringify(languageVersionOrOptions);
      const cached = this.sourceFiles.get(fileName);
      if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size && cached.languageVersion === languageVersion) {
        return cached.sourceFile;
      }
      const sourceFile = readAndParse(fileName, languageVersionOrOptions, onError, shouldCreate);
      if (sourceFile) this.sourceFiles.set(fileName, { mtimeMs: stats.mtimeMs, size: stats.size, languageVersion, sourceFile });
      return sourceFile;
    };
    return host;
  }

  private result(all: readonly ts.Diagnostic[], color: boolean): TypeCheckResult {
    const shown = all.filter(
      (d) => d.category === ts.DiagnosticCategory.Error || d.category === ts.DiagnosticCategory.Warning,
    );
    const formatHost: ts.FormatDiagnosticsHost = {
      getCurrentDirectory: () => this.appDir,
      getCanonicalFileName: (fileName) => (ts.sys.useCaseSensitiveFileNames ? fileName : fileName.toLowerCase()),
      getNewLine: () => "\n",
    };
    const framed = shown.length === 0 ? "" : ts.formatDiagnosticsWithColorAndContext(shown, formatHost);
    return {
      errorCount: shown.filter((d) => d.category === ts.DiagnosticCategory.Error).length,
      diagnostics: shown.map((d) => ts.formatDiagnostic(d, formatHost).trim()),
      // The compiler API only formats code frames in color; strip it when the terminal has none.
      report: color ? framed : stripVTControlCharacters(framed),
    };
  }
}
