//! What a model call used, in tokens: as the provider reports it (`usage`), or, when it reports
//! nothing (the mock, or a provider without usage in its stream), estimated from the text and
//! marked so.

use serde::{Deserialize, Serialize};

use crate::prompt::Prompt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Counted here from the text, not reported by the provider.
    #[serde(default)]
    pub estimated: bool,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// An estimate for `prompt` answered with `completion`.
    pub fn estimate(prompt: &Prompt, completion: &str) -> Self {
        Self {
            prompt_tokens: estimate_tokens(&prompt.system) + estimate_tokens(&prompt.user),
            completion_tokens: estimate_tokens(completion),
            estimated: true,
        }
    }
}

/// Tokens a text is likely to take: one per Chinese (or other CJK) character, one per four
/// bytes of anything else — close to what the common tokenizers give for plan text.
pub fn estimate_tokens(text: &str) -> u64 {
    let mut cjk = 0u64;
    let mut other_bytes = 0u64;
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
        } else {
            other_bytes += c.len_utf8() as u64;
        }
    }
    cjk + other_bytes.div_ceil(4)
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{303f}'   // CJK punctuation
        | '\u{3400}'..='\u{4dbf}' // extension A
        | '\u{4e00}'..='\u{9fff}' // unified ideographs
        | '\u{f900}'..='\u{faff}' // compatibility ideographs
        | '\u{ff00}'..='\u{ffef}' // full-width forms
        | '\u{20000}'..='\u{2ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_counts_a_token_a_character_latin_a_token_four_bytes() {
        assert_eq!(estimate_tokens("企业概况"), 4);
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("一、目的：abc"), 6);
        assert_eq!(estimate_tokens(""), 0);
    }
}
