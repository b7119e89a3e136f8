//! What the check against an enterprise's profile found in a section's text: each finding at
//! its paragraph (the text's line), with the words it is about and what is wrong, in the
//! writer's words.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FactFinding {
    pub kind: FindingKind,
    /// The paragraph: the 0-based line of the section's text.
    pub paragraph: usize,
    /// The words it is about, as the text has them.
    #[cfg_attr(feature = "ssr", schema(example = "13905719999"))]
    pub excerpt: String,
    #[cfg_attr(
        feature = "ssr",
        schema(example = "电话 13905719999 不属于企业档案中的任何人员或单位")
    )]
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A phone number that belongs to nobody in the profile.
    UnknownPhone,
    /// A person named in a role the profile gives someone else.
    WrongPerson,
    /// A resource the text relies on that the inventory lacks.
    MissingResource,
    /// A resource with a quantity the inventory does not list.
    WrongQuantity,
    /// Equipment past its inspection or expiry date.
    Expired,
    /// A risk rated 一般 or higher that no plan of the enterprise covers.
    UncoveredRisk,
}

impl FindingKind {
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::UnknownPhone => "电话不在档案中",
            FindingKind::WrongPerson => "人员与职务不符",
            FindingKind::MissingResource => "物资不在档案中",
            FindingKind::WrongQuantity => "数量与档案不符",
            FindingKind::Expired => "装备已过检验或有效期",
            FindingKind::UncoveredRisk => "风险未被预案覆盖",
        }
    }
}
