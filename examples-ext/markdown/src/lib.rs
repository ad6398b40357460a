//! `t.markdown`: Markdown rendering for Titan actions, natively (pulldown-cmark, CommonMark plus
//! tables, strikethrough and task lists). An example of a small, stateless extension.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};
use serde::{Deserialize, Serialize};
use titan_ext::function;

/// What `render` may enable beyond CommonMark.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderOptions {
    /// GitHub-style tables (default on).
    tables: Option<bool>,
    /// `~~strikethrough~~` (default on).
    strikethrough: Option<bool>,
    /// `- [ ] task` lists (default on).
    tasklists: Option<bool>,
}

fn parser_options(options: &RenderOptions) -> Options {
    let mut enabled = Options::empty();
    if options.tables.unwrap_or(true) {
        enabled.insert(Options::ENABLE_TABLES);
    }
    if options.strikethrough.unwrap_or(true) {
        enabled.insert(Options::ENABLE_STRIKETHROUGH);
    }
    if options.tasklists.unwrap_or(true) {
        enabled.insert(Options::ENABLE_TASKLISTS);
    }
    enabled
}

/// Markdown to HTML. Raw HTML in the input is passed through, as CommonMark says: escape
/// untrusted input before rendering it.
#[function]
pub fn render(markdown: &str, options: Option<RenderOptions>) -> String {
    let options = options.unwrap_or_default();
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, parser_options(&options)));
    out
}

/// A heading of the document, for a table of contents.
#[derive(Serialize, Debug, PartialEq)]
pub struct Heading {
    /// 1 to 6.
    level: u8,
    /// The heading's text.
    text: String,
}

/// The document's headings, in order.
#[function]
pub fn headings(markdown: &str) -> Vec<Heading> {
    let mut found = Vec::new();
    let mut current: Option<(u8, String)> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((level_number(level), String::new())),
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, buffer)) = current.as_mut() {
                    buffer.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = current.take() {
                    found.push(Heading { level, text });
                }
            }
            _ => {}
        }
    }
    found
}

/// Words in the document's text (markup excluded).
#[function]
pub fn word_count(markdown: &str) -> u32 {
    let count: usize = Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Text(text) | Event::Code(text) => Some(text.split_whitespace().count()),
            _ => None,
        })
        .sum();
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

titan_ext::extension! {
    functions: [render, headings, word_count],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_commonmark_with_tables_and_tasks() {
        assert_eq!(render("# Hi *there*", None), "<h1>Hi <em>there</em></h1>\n");
        let table = render("| a | b |\n|---|---|\n| 1 | 2 |", None);
        assert!(table.contains("<table>") && table.contains("<td>2</td>"), "{table}");
        let plain = render("| a | b |\n|---|---|\n| 1 | 2 |", Some(RenderOptions { tables: Some(false), ..Default::default() }));
        assert!(!plain.contains("<table>"), "{plain}");
        assert!(render("- [x] done", None).contains("checked"));
    }

    #[test]
    fn finds_headings_and_counts_words() {
        assert_eq!(
            headings("# One\ntext\n## Two `code`\n"),
            vec![Heading { level: 1, text: "One".into() }, Heading { level: 2, text: "Two code".into() }]
        );
        assert_eq!(word_count("# Title\n\nSome *emphasised* words, `code` too."), 6);
    }
}
