//! An enterprise profile (企业档案): the site's own facts, entered once and read by every plan of
//! that enterprise — its basics, emergency organisation, risk register, resources, sensitive
//! targets around it and key posts. Wire types, for the API and the profile page alike; the
//! rules they are held to are in `profile_check`.

use serde::{Deserialize, Serialize};

/// The most rows one list of a profile holds.
pub const MAX_ROWS: usize = 500;
/// The largest profile kept, as JSON.
pub const MAX_PROFILE_BYTES: usize = 2 * 1024 * 1024;

/// A profile's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Profile {
    #[serde(default)]
    pub basics: Basics,
    #[serde(default)]
    pub organization: Organization,
    /// 风险清单: one row per risk unit and accident category.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub risks: Vec<RiskUnit>,
    #[serde(default)]
    pub resources: Resources,
    /// 周边敏感目标.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub targets: Vec<SensitiveTarget>,
    /// 重点岗位.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub posts: Vec<KeyPost>,
}

/// 基本情况: the enterprise form's fields, and where the site is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Basics {
    /// 企业名称 (the only field a profile must have).
    #[cfg_attr(
        feature = "ssr",
        schema(example = "某某化工有限公司", max_length = 100)
    )]
    pub enterprise_name: String,
    /// 统一社会信用代码 (18 characters).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 18))]
    pub credit_code: String,
    /// 行业类型.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "化工制造", max_length = 50))]
    pub industry_type: String,
    /// 企业规模.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 200))]
    pub address: String,
    /// 经度 (−180…180), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = -180.0, maximum = 180.0))]
    pub longitude: Option<f64>,
    /// 纬度 (−90…90), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = -90.0, maximum = 90.0))]
    pub latitude: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 200))]
    pub main_products: String,
    /// 从业人员数量.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 1000000))]
    pub employees_count: Option<i64>,
    /// 主要负责人.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 60))]
    pub principal: String,
    /// 应急值守电话.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "0571-12345678", max_length = 30))]
    pub duty_phone: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    pub raw_materials: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub annual_output: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 1000))]
    pub processes: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
    pub hazardous_chemicals: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    pub major_hazard_sources: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    pub special_equipment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Large,
    Medium,
    Small,
    Micro,
}

impl Scale {
    pub const ALL: [Scale; 4] = [Scale::Large, Scale::Medium, Scale::Small, Scale::Micro];

    pub fn label(self) -> &'static str {
        match self {
            Scale::Large => "大型",
            Scale::Medium => "中型",
            Scale::Small => "小型",
            Scale::Micro => "微型",
        }
    }
}

/// 应急组织: the command (指挥部) and the working groups (工作组), as one list of people with
/// their role, and the groups' duties.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Organization {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub people: Vec<OrgMember>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub groups: Vec<WorkGroup>,
}

/// One person in the emergency organisation, in one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrgMember {
    pub role: OrgRole,
    /// The working group, for a group's leader or member.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "抢险救援组", max_length = 50))]
    pub group: String,
    #[cfg_attr(feature = "ssr", schema(example = "张三", max_length = 50))]
    pub name: String,
    /// 职务.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "总经理", max_length = 50))]
    pub post: String,
    /// 手机 (or a landline with its area code).
    #[cfg_attr(feature = "ssr", schema(example = "13800001111", max_length = 30))]
    pub mobile: String,
    /// Who stands in (AB 角).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 50))]
    pub deputy: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    /// 总指挥.
    Commander,
    /// 副总指挥.
    DeputyCommander,
    /// 指挥部成员.
    Member,
    /// 工作组组长.
    GroupLeader,
    /// 工作组组员.
    GroupMember,
}

impl OrgRole {
    pub const ALL: [OrgRole; 5] = [
        OrgRole::Commander,
        OrgRole::DeputyCommander,
        OrgRole::Member,
        OrgRole::GroupLeader,
        OrgRole::GroupMember,
    ];

    pub fn label(self) -> &'static str {
        match self {
            OrgRole::Commander => "总指挥",
            OrgRole::DeputyCommander => "副总指挥",
            OrgRole::Member => "指挥部成员",
            OrgRole::GroupLeader => "组长",
            OrgRole::GroupMember => "组员",
        }
    }

    pub fn in_group(self) -> bool {
        matches!(self, OrgRole::GroupLeader | OrgRole::GroupMember)
    }

    pub fn from_label(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.label() == text.trim())
    }
}

/// 工作组.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WorkGroup {
    #[cfg_attr(feature = "ssr", schema(example = "抢险救援组", max_length = 50))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    pub duties: String,
}

/// One accident category at one risk unit (an area, installation or post), graded by the LS
/// method: likelihood `l` times severity `s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RiskUnit {
    /// 风险单元 (area, installation or post).
    #[cfg_attr(feature = "ssr", schema(example = "液氯储罐区", max_length = 100))]
    pub unit: String,
    /// 事故类别 (GB 6441, or one the registry adds).
    #[cfg_attr(feature = "ssr", schema(example = "中毒和窒息", max_length = 20))]
    pub category: String,
    /// 可能性 L, 1–5.
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 5))]
    pub l: i64,
    /// 严重性 S, 1–5.
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 5))]
    pub s: i64,
    /// 风险等级: worked out from L × S by the registry's bands; what is sent is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<RiskLevel>,
    /// 事故后果.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 500))]
    pub consequences: String,
    /// 影响范围.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 200))]
    pub reach: String,
}

/// The four levels of the 双重预防机制, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// 重大风险 (红).
    Major,
    /// 较大风险 (橙).
    Significant,
    /// 一般风险 (黄).
    General,
    /// 低风险 (蓝).
    Low,
}

impl RiskLevel {
    pub const ALL: [RiskLevel; 4] = [
        RiskLevel::Major,
        RiskLevel::Significant,
        RiskLevel::General,
        RiskLevel::Low,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Major => "重大风险",
            RiskLevel::Significant => "较大风险",
            RiskLevel::General => "一般风险",
            RiskLevel::Low => "低风险",
        }
    }

    pub fn colour(self) -> &'static str {
        match self {
            RiskLevel::Major => "红",
            RiskLevel::Significant => "橙",
            RiskLevel::General => "黄",
            RiskLevel::Low => "蓝",
        }
    }
}

/// The grading the profile's risks are read with: the method's name, the lowest L × S of each
/// level (highest level first), and the accident categories a risk may name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RiskScale {
    #[cfg_attr(feature = "ssr", schema(example = "LS 矩阵法（可能性 L × 严重性 S）"))]
    pub method: String,
    pub bands: Vec<RiskBand>,
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RiskBand {
    /// The lowest L × S of this level.
    pub min: i64,
    pub level: RiskLevel,
}

impl RiskScale {
    /// The level of `l` × `s`: the first band (highest first) it reaches.
    pub fn level(&self, l: i64, s: i64) -> Option<RiskLevel> {
        let r = l * s;
        self.bands.iter().find(|b| r >= b.min).map(|b| b.level)
    }

    /// The bands as a reader sees them: `重大风险（红）R ≥ 20；较大风险（橙）15 ≤ R < 20；…`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut upper: Option<i64> = None;
        for band in &self.bands {
            let level = format!("{}（{}）", band.level.label(), band.level.colour());
            parts.push(match upper {
                None => format!("{level} R ≥ {}", band.min),
                Some(upper) => format!("{level} {} ≤ R < {upper}", band.min),
            });
            upper = Some(band.min);
        }
        parts.join("；")
    }
}

/// 应急资源.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Resources {
    /// 应急装备和物资.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub equipment: Vec<Equipment>,
    /// 内部应急队伍.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub teams: Vec<Team>,
    /// 外部应急资源.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 500))]
    pub external: Vec<ExternalResource>,
}

/// One kind of equipment or supplies, where it lies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Equipment {
    #[cfg_attr(feature = "ssr", schema(example = "正压式空气呼吸器", max_length = 50))]
    pub name: String,
    /// 规格型号.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "6.8L", max_length = 100))]
    pub spec: String,
    #[cfg_attr(
        feature = "ssr",
        schema(example = 4, minimum = 0, maximum = 1000000000)
    )]
    pub quantity: f64,
    /// 单位 (台, 套, 个, kg, t, m³ …).
    #[cfg_attr(feature = "ssr", schema(example = "套", max_length = 10))]
    pub unit: String,
    /// 存放位置.
    #[cfg_attr(
        feature = "ssr",
        schema(example = "液氯储罐区应急柜", max_length = 100)
    )]
    pub location: String,
    /// 管理责任人.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 50))]
    pub custodian: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 30))]
    pub phone: String,
    /// 检验或有效期至 (YYYY-MM-DD), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(example = "2027-06-30", format = Date))]
    pub due: Option<String>,
}

/// 内部应急队伍.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Team {
    #[cfg_attr(feature = "ssr", schema(example = "义务消防队", max_length = 50))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(example = 12, minimum = 0, maximum = 1000000))]
    pub headcount: i64,
    /// 专业特长.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub speciality: String,
    /// 负责人.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 50))]
    pub leader: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 30))]
    pub phone: String,
}

/// Help from outside the unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExternalResource {
    pub kind: ExternalKind,
    #[cfg_attr(
        feature = "ssr",
        schema(example = "某某区消防救援站", max_length = 100)
    )]
    pub name: String,
    /// 距离, in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 1000000))]
    pub distance_m: Option<f64>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 30))]
    pub phone: String,
    /// 是否签订互助或救援协议.
    #[serde(default)]
    pub agreement: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExternalKind {
    /// 消防救援.
    FireBrigade,
    /// 医疗救护.
    Hospital,
    /// 互助企业.
    MutualAid,
    /// 园区或政府救援队伍.
    PublicTeam,
    /// 环境监测.
    Monitoring,
    /// 其他.
    Other,
}

impl ExternalKind {
    pub const ALL: [ExternalKind; 6] = [
        ExternalKind::FireBrigade,
        ExternalKind::Hospital,
        ExternalKind::MutualAid,
        ExternalKind::PublicTeam,
        ExternalKind::Monitoring,
        ExternalKind::Other,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ExternalKind::FireBrigade => "消防救援",
            ExternalKind::Hospital => "医疗救护",
            ExternalKind::MutualAid => "互助企业",
            ExternalKind::PublicTeam => "园区或政府救援队伍",
            ExternalKind::Monitoring => "环境监测",
            ExternalKind::Other => "其他",
        }
    }

    pub fn from_label(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.label() == text.trim())
    }
}

/// 周边敏感目标.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SensitiveTarget {
    #[cfg_attr(feature = "ssr", schema(example = "某某小学", max_length = 100))]
    pub name: String,
    /// 方位 (东, 东南, 南 …).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "东南", max_length = 10))]
    pub direction: String,
    /// 距离, in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 1000000))]
    pub distance_m: Option<f64>,
    /// 人数.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 10000000))]
    pub people: Option<i64>,
}

/// 重点岗位.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyPost {
    #[cfg_attr(feature = "ssr", schema(example = "液氯充装岗", max_length = 100))]
    pub post: String,
    /// 所在区域.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "液氯储罐区", max_length = 100))]
    pub area: String,
    /// 岗位人数.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 100000))]
    pub people: Option<i64>,
    /// 主要风险: accident categories.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 30))]
    pub risks: Vec<String>,
}

/// A profile with everything the server keeps about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedProfile {
    #[cfg_attr(feature = "ssr", schema(example = "5b1f0c9e8d7a4b3c2d1e0f9a8b7c6d5e"))]
    pub id: String,
    /// The enterprise's name (from 基本情况).
    pub name: String,
    /// Raised by every change; send it back as `base_revision`.
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
    pub profile: Profile,
}

/// A profile in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProfileSummary {
    pub id: String,
    pub name: String,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A profile to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    pub profile: Profile,
}

/// A profile's new content; `Conflict` (nothing written) when `base_revision` is not the
/// latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 0))]
    pub base_revision: Option<i64>,
    pub profile: Profile,
}

/// A part of a profile a section of a plan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FactPart {
    /// 基本情况 (the duty phone and the principal among them).
    Basics,
    /// 应急组织.
    Organization,
    /// 风险清单.
    Risks,
    /// 应急物资装备.
    Equipment,
    /// 应急队伍.
    Teams,
    /// 外部应急资源.
    External,
    /// 周边敏感目标.
    Targets,
    /// 重点岗位.
    Posts,
}

impl FactPart {
    pub fn label(self) -> &'static str {
        match self {
            FactPart::Basics => "基本情况",
            FactPart::Organization => "应急组织",
            FactPart::Risks => "风险清单",
            FactPart::Equipment => "应急物资装备",
            FactPart::Teams => "应急队伍",
            FactPart::External => "外部应急资源",
            FactPart::Targets => "周边敏感目标",
            FactPart::Posts => "重点岗位",
        }
    }
}

/// How much of a profile a type of plan is about: the whole enterprise, the accident
/// categories its `field` names (a special plan), or the key post its `field` names (an
/// on-site plan).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FactScope {
    #[default]
    Enterprise,
    Category {
        field: String,
    },
    Post {
        field: String,
    },
}
