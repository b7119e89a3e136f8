//! One section's text side by side between two versions: lines matched up, and within a
//! changed line the characters that differ marked (Chinese has no spaces to split words on).
//! Both diffs run against a deadline, so a pathological pair of texts costs a bounded time and
//! comes out coarser rather than late.

use std::time::Duration;

use similar::{ChangeTag, DiffTag, TextDiff};

use crate::model::{DiffKind, DiffRow, DiffSpan};

const LINES_DEADLINE: Duration = Duration::from_millis(300);
const CHARS_DEADLINE: Duration = Duration::from_millis(20);

/// The rows of the side-by-side view of `old` (left) against `new` (right).
pub fn rows(old: &str, new: &str) -> Vec<DiffRow> {
    // A last line without its line break is still the same line as one with it.
    let (old, new) = (terminated(old), terminated(new));
    let (old, new) = (old.as_ref(), new.as_ref());
    let lines = TextDiff::configure()
        .timeout(LINES_DEADLINE)
        .diff_lines(old, new);
    // The diff's own lines, each with its ending (it ends a line at \n, \r\n and a bare \r
    // alike): the ops index these.
    let old_lines: Vec<&str> = lines.iter_old_slices().map(trim_eol).collect();
    let new_lines: Vec<&str> = lines.iter_new_slices().map(trim_eol).collect();
    let mut rows = Vec::new();
    for op in lines.ops() {
        let (tag, left, right) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => rows.extend(left.map(|i| DiffRow {
                kind: DiffKind::Same,
                left: Some(plain(old_lines[i])),
                right: Some(plain(old_lines[i])),
            })),
            DiffTag::Delete => rows.extend(left.map(|i| removed(old_lines[i]))),
            DiffTag::Insert => rows.extend(right.map(|i| added(new_lines[i]))),
            DiffTag::Replace => {
                let (left, right): (Vec<_>, Vec<_>) = (left.collect(), right.collect());
                for k in 0..left.len().max(right.len()) {
                    rows.push(match (left.get(k), right.get(k)) {
                        (Some(&l), Some(&r)) => changed(old_lines[l], new_lines[r]),
                        (Some(&l), None) => removed(old_lines[l]),
                        (None, Some(&r)) => added(new_lines[r]),
                        (None, None) => unreachable!("k is below one of the lengths"),
                    });
                }
            }
        }
    }
    rows
}

/// `text` with every line ended by `\n`: a line break written as `\r\n` or a bare `\r` (pasted
/// text brings both) is no difference a writer sees, and the last line is ended too.
fn terminated(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\r') {
        let mut unified = text.replace("\r\n", "\n").replace('\r', "\n");
        if !unified.is_empty() && !unified.ends_with('\n') {
            unified.push('\n');
        }
        return unified.into();
    }
    if text.is_empty() || text.ends_with('\n') {
        text.into()
    } else {
        format!("{text}\n").into()
    }
}

fn trim_eol(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

fn plain(text: &str) -> Vec<DiffSpan> {
    vec![DiffSpan {
        text: text.to_owned(),
        changed: false,
    }]
}

fn marked(text: &str) -> Vec<DiffSpan> {
    vec![DiffSpan {
        text: text.to_owned(),
        changed: true,
    }]
}

fn removed(line: &str) -> DiffRow {
    DiffRow {
        kind: DiffKind::Removed,
        left: Some(marked(line)),
        right: None,
    }
}

fn added(line: &str) -> DiffRow {
    DiffRow {
        kind: DiffKind::Added,
        left: None,
        right: Some(marked(line)),
    }
}

/// A line on both sides: the characters each side has and the other does not are marked.
fn changed(old: &str, new: &str) -> DiffRow {
    let chars = TextDiff::configure()
        .timeout(CHARS_DEADLINE)
        .diff_chars(old, new);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for change in chars.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut left, text, false);
                push(&mut right, text, false);
            }
            ChangeTag::Delete => push(&mut left, text, true),
            ChangeTag::Insert => push(&mut right, text, true),
        }
    }
    DiffRow {
        kind: DiffKind::Changed,
        left: Some(left),
        right: Some(right),
    }
}

/// Adds `text` to the spans, joined to the last one when it is marked the same.
fn push(spans: &mut Vec<DiffSpan>, text: &str, changed: bool) {
    match spans.last_mut() {
        Some(last) if last.changed == changed => last.text.push_str(text),
        _ => spans.push(DiffSpan {
            text: text.to_owned(),
            changed,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(spans: &Option<Vec<DiffSpan>>) -> String {
        spans
            .iter()
            .flatten()
            .map(|s| {
                if s.changed {
                    format!("[{}]", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn lines_are_matched_and_changed_characters_marked() {
        let old = "一、总则\n应急电话 110\n旧的一行\n结尾";
        let new = "一、总则\n应急电话 119\n结尾\n新增一行";
        let rows = rows(old, new);
        let shown: Vec<(DiffKind, String, String)> = rows
            .iter()
            .map(|r| (r.kind, side(&r.left), side(&r.right)))
            .collect();
        assert_eq!(
            shown,
            vec![
                (DiffKind::Same, "一、总则".into(), "一、总则".into()),
                (
                    DiffKind::Changed,
                    "应急电话 11[0]".into(),
                    "应急电话 11[9]".into()
                ),
                (DiffKind::Removed, "[旧的一行]".into(), String::new()),
                (DiffKind::Same, "结尾".into(), "结尾".into()),
                (DiffKind::Added, String::new(), "[新增一行]".into()),
            ]
        );
    }

    #[test]
    fn bare_carriage_returns_end_lines_as_the_diff_reads_them() {
        let rows = rows("甲\r乙\r丙", "甲\r\n乙\n丁\r");
        let shown: Vec<(DiffKind, String, String)> = rows
            .iter()
            .map(|r| (r.kind, side(&r.left), side(&r.right)))
            .collect();
        assert_eq!(
            shown,
            vec![
                (DiffKind::Same, "甲".into(), "甲".into()),
                (DiffKind::Same, "乙".into(), "乙".into()),
                (DiffKind::Changed, "[丙]".into(), "[丁]".into()),
            ]
        );
        assert_eq!(super::rows("\r\r\r", "\r").len(), 3);
        // Whatever else may end a line to the library, the rows are read from its own lines.
        for odd in ["\u{85}", "\u{2028}", "\u{b}", "\u{c}", "\r\r\n", "\n\r"] {
            let text = format!("甲{odd}乙{odd}丙");
            assert!(!super::rows(&text, "甲").is_empty());
            assert!(!super::rows("乙", &text).is_empty());
        }
    }

    #[test]
    fn the_same_text_has_only_same_rows() {
        let rows = rows("甲\n乙", "甲\n乙");
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.kind == DiffKind::Same));
    }
}
