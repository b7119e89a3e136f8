//! What a template asks for, as the registry declares it and as the pages and the API show it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// A whole number.
    Integer,
}

/// One enterprise field: its id in requests, its label on the form, and its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub id: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Length limit in characters (text kinds).
    #[serde(default)]
    pub max_len: Option<usize>,
    /// Bounds for integers.
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub placeholder: Option<String>,
    /// A value shown in the API document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// A template as the generator page needs it: no prompts, no cache settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldSpec>,
    pub sections: Vec<SectionView>,
    /// Written first in a whole plan; its text goes to the other sections.
    pub context_section: Option<String>,
    /// The clauses of GB/T 29639-2020 a plan of this type covers, in the standard's order.
    #[serde(default)]
    pub clauses: Vec<String>,
}

impl TemplateView {
    pub fn field(&self, id: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionView {
    pub id: String,
    pub title: String,
    /// The standard's elements it must cover, so the page can check edited text too.
    #[serde(default)]
    pub elements: Vec<super::ElementSpec>,
}
