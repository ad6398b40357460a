// Types of the extensions this app registers. Written by hand until the Extension SDK generates
// them from each extension's signatures.
declare global {
  interface TitanNamespace {
    markdown: {
      render(markdown: string, options?: { tables?: boolean; strikethrough?: boolean; tasklists?: boolean } | null): string;
      headings(markdown: string): { level: number; text: string }[];
      word_count(markdown: string): number;
      /** From the extension's JS entry: HTML with a table of contents. */
      page(markdown: string): string;
    };
  }
}

export {};
