//! An enterprise profile as a plan reads it: narrowed to what the type of plan is about (the
//! whole enterprise, an accident category, a key post), then to the parts each section reads.
//! A section's facts go into its prompt as tables and into its cache key, so changing a phone
//! number changes exactly the sections that print it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    model::{
        profile::{
            Basics, Equipment, ExternalResource, FactPart, FactScope, KeyPost, Organization,
            Profile, Resources, RiskScale, RiskUnit, SensitiveTarget, Team,
        },
        profile_check::show_distance,
        profile_sheets::{Sheet, Sheets},
        EnterpriseData, FieldInput,
    },
    templates::{Section, Template},
};

/// A profile narrowed to one plan.
#[derive(Debug, Clone)]
pub struct PlanFacts {
    profile: Profile,
    /// What the plan is narrowed to, in words (`重点岗位：液氯充装岗`).
    scope: Option<String>,
    method: String,
}

/// What one section reads of its plan's facts; only the parts it reads are set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SectionFacts {
    pub scope: Option<String>,
    pub basics: Option<Basics>,
    pub organization: Option<Organization>,
    pub risks: Option<Vec<RiskUnit>>,
    /// How the risks were graded (method and bands), with the risks.
    pub method: Option<String>,
    pub equipment: Option<Vec<Equipment>>,
    pub teams: Option<Vec<Team>>,
    pub external: Option<Vec<ExternalResource>>,
    pub targets: Option<Vec<SensitiveTarget>>,
    pub posts: Option<Vec<KeyPost>>,
}

impl PlanFacts {
    /// `profile` narrowed to what a plan of `template` asked with `data` is about.
    pub fn new(
        profile: &Profile,
        template: &Template,
        data: &EnterpriseData,
        scale: &RiskScale,
    ) -> Self {
        let mut profile = profile.clone();
        let field = |id: &str| match data.enterprise_info.get(id) {
            Some(FieldInput::Text(text)) => text.trim().to_owned(),
            _ => String::new(),
        };
        let scope = match &template.scope {
            FactScope::Enterprise => None,
            FactScope::Category { field: id } => {
                let asked = field(id);
                let categories: Vec<&String> = scale
                    .categories
                    .iter()
                    .filter(|c| asked.contains(c.as_str()))
                    .collect();
                if !categories.is_empty() {
                    profile.risks.retain(|r| categories.contains(&&r.category));
                    profile
                        .posts
                        .retain(|p| p.risks.iter().any(|r| categories.contains(&r)));
                }
                Some(format!("事故类别：{asked}"))
            }
            FactScope::Post { field: id } => {
                let asked = field(id);
                let post = profile
                    .posts
                    .iter()
                    .find(|p| p.post == asked || p.area == asked)
                    .cloned();
                if let Some(post) = post {
                    let at_post = |unit: &str| unit == post.area || unit == post.post;
                    if profile.risks.iter().any(|r| at_post(&r.unit)) {
                        profile.risks.retain(|r| at_post(&r.unit));
                    } else {
                        profile.risks.retain(|r| post.risks.contains(&r.category));
                    }
                    let near = |e: &Equipment| {
                        !post.area.is_empty() && e.location.contains(post.area.as_str())
                    };
                    if profile.resources.equipment.iter().any(near) {
                        profile.resources.equipment.retain(near);
                    }
                    let scope = format!("重点岗位：{}（{}）", post.post, post.area);
                    profile.posts = vec![post];
                    Some(scope)
                } else {
                    Some(format!("岗位或装置：{asked}"))
                }
            }
        };
        Self {
            profile,
            scope,
            method: format!("{}；{}", scale.method, scale.describe()),
        }
    }

    /// What `section` reads; `None` when it reads nothing of the profile.
    pub fn for_section(&self, section: &Section) -> Option<SectionFacts> {
        if section.reads.is_empty() {
            return None;
        }
        let reads = |part| section.reads.contains(&part);
        let p = &self.profile;
        let r = &p.resources;
        Some(SectionFacts {
            scope: self.scope.clone(),
            basics: reads(FactPart::Basics).then(|| p.basics.clone()),
            organization: reads(FactPart::Organization).then(|| p.organization.clone()),
            risks: reads(FactPart::Risks).then(|| p.risks.clone()),
            method: reads(FactPart::Risks).then(|| self.method.clone()),
            equipment: reads(FactPart::Equipment).then(|| r.equipment.clone()),
            teams: reads(FactPart::Teams).then(|| r.teams.clone()),
            external: reads(FactPart::External).then(|| r.external.clone()),
            targets: reads(FactPart::Targets).then(|| p.targets.clone()),
            posts: reads(FactPart::Posts).then(|| p.posts.clone()),
        })
    }
}

/// The enterprise form a plan made from `profile` is asked with: its basics, the accident
/// categories of its risks and its sensitive targets in words, and what `asked` adds (the
/// fields a profile cannot say: which category, which post).
pub fn profile_form(
    profile: &Profile,
    template: &Template,
    asked: &EnterpriseData,
) -> EnterpriseData {
    let b = &profile.basics;
    let mut form: BTreeMap<String, FieldInput> = BTreeMap::new();
    let mut text = |id: &str, value: &str| {
        if !value.trim().is_empty() {
            form.insert(id.to_owned(), FieldInput::Text(value.to_owned()));
        }
    };
    text("enterprise_name", &b.enterprise_name);
    text("industry_type", &b.industry_type);
    text("address", &b.address);
    text("main_products", &b.main_products);
    text("credit_code", &b.credit_code);
    text("duty_phone", &b.duty_phone);
    text("raw_materials", &b.raw_materials);
    text("annual_output", &b.annual_output);
    text("processes", &b.processes);
    text("hazardous_chemicals", &b.hazardous_chemicals);
    text("major_hazard_sources", &b.major_hazard_sources);
    text("special_equipment", &b.special_equipment);
    let principal = match profile
        .organization
        .people
        .iter()
        .find(|p| p.name == b.principal)
    {
        Some(p) if !b.principal.is_empty() => format!("{} {}", b.principal, p.mobile),
        _ => b.principal.clone(),
    };
    text("principal", &principal);
    let mut categories: Vec<&str> = Vec::new();
    for risk in &profile.risks {
        if !categories.contains(&risk.category.as_str()) {
            categories.push(&risk.category);
        }
    }
    text("accident_types", &categories.join("、"));
    let targets: Vec<String> = profile.targets.iter().map(target_words).collect();
    text("sensitive_targets", &targets.join("；"));
    if let Some(n) = b.employees_count {
        form.insert("employees_count".into(), FieldInput::Integer(n));
    }
    // What the writer asked with wins where the profile cannot know (the scope's field), and
    // fills what the profile leaves empty.
    let scope_field = match &template.scope {
        FactScope::Category { field } | FactScope::Post { field } => Some(field.as_str()),
        FactScope::Enterprise => None,
    };
    for (id, value) in &asked.enterprise_info {
        if Some(id.as_str()) == scope_field || !form.contains_key(id) {
            form.insert(id.clone(), value.clone());
        }
    }
    form.retain(|id, _| template.fields.iter().any(|f| &f.id == id));
    EnterpriseData {
        enterprise_info: form,
    }
}

/// `临江小学（东 1.6 km，约 600 人）`.
pub fn target_words(t: &SensitiveTarget) -> String {
    let mut parts = Vec::new();
    let place = format!(
        "{}{}",
        t.direction,
        t.distance_m
            .map(|d| format!(" {}", show_distance(d)))
            .unwrap_or_default()
    );
    if !place.trim().is_empty() {
        parts.push(place.trim().to_owned());
    }
    if let Some(n) = t.people {
        parts.push(format!("约 {n} 人"));
    }
    if parts.is_empty() {
        t.name.clone()
    } else {
        format!("{}（{}）", t.name, parts.join("，"))
    }
}

impl SectionFacts {
    /// What goes into the cache key: the facts exactly as the section reads them.
    pub fn digest_input(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The facts as the prompt's tables.
    pub fn tables(&self) -> String {
        let mut out = String::new();
        if let Some(scope) = &self.scope {
            out.push_str(&format!("本预案针对{scope}\n"));
        }
        if let Some(b) = &self.basics {
            let mut rows = Vec::new();
            for (label, value) in [
                ("企业名称", b.enterprise_name.as_str()),
                ("主要负责人", b.principal.as_str()),
                ("应急值守电话", b.duty_phone.as_str()),
                ("地址", b.address.as_str()),
            ] {
                if !value.is_empty() {
                    rows.push(vec![label.to_owned(), value.to_owned()]);
                }
            }
            if let (Some(lon), Some(lat)) = (b.longitude, b.latitude) {
                rows.push(vec!["经纬度".into(), format!("{lon}, {lat}")]);
            }
            if let Some(scale) = b.scale {
                rows.push(vec!["企业规模".into(), scale.label().into()]);
            }
            table(&mut out, "基本情况", &["项目", "内容"], rows);
        }
        // The lists as the profile's sheets show them (the page's tables, the workbook), risks
        // with their grade.
        let profile = Profile {
            organization: self.organization.clone().unwrap_or_default(),
            risks: self.risks.clone().unwrap_or_default(),
            resources: Resources {
                equipment: self.equipment.clone().unwrap_or_default(),
                teams: self.teams.clone().unwrap_or_default(),
                external: self.external.clone().unwrap_or_default(),
            },
            targets: self.targets.clone().unwrap_or_default(),
            posts: self.posts.clone().unwrap_or_default(),
            ..Profile::default()
        };
        let sheets = Sheets::of(&profile);
        for sheet in Sheet::ALL {
            let read = match sheet {
                Sheet::Groups | Sheet::People => self.organization.is_some(),
                Sheet::Risks => self.risks.is_some(),
                Sheet::Equipment => self.equipment.is_some(),
                Sheet::Teams => self.teams.is_some(),
                Sheet::External => self.external.is_some(),
                Sheet::Targets => self.targets.is_some(),
                Sheet::Posts => self.posts.is_some(),
            };
            if !read {
                continue;
            }
            let mut header: Vec<&str> = sheet.columns().iter().map(|(label, _)| *label).collect();
            let mut rows = sheets.rows(sheet).to_vec();
            let mut title = sheet.title().to_owned();
            if sheet == Sheet::Risks {
                header.extend(["R", "风险等级"]);
                for (row, r) in rows.iter_mut().zip(&profile.risks) {
                    row.push((r.l * r.s).to_string());
                    row.push(r.level.map(|l| l.label()).unwrap_or_default().to_owned());
                }
                if let Some(method) = &self.method {
                    title = format!("{title}（{method}）");
                }
            }
            table(&mut out, &title, &header, rows);
        }
        out
    }
}

/// A table in the prompt: `【title】`, a header row and one row each, cells split by `|`; an
/// empty list says so, so the model marks what is missing instead of making it up.
fn table(out: &mut String, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    out.push_str(&format!("\n【{title}】\n"));
    if rows.is_empty() {
        out.push_str("（档案中没有记录）\n");
        return;
    }
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace(['|', '\n'], " ")).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{model::profile_check::check, templates::Registry};

    fn sample(registry: &Registry) -> Profile {
        let profile =
            serde_json::from_str(include_str!("../../tests/fixtures/profile_sample.json"))
                .expect("the sample profile reads");
        check(profile, registry.risk()).expect("the sample profile is clean")
    }

    fn asked(field: &str, value: &str) -> EnterpriseData {
        EnterpriseData {
            enterprise_info: [(field.to_owned(), FieldInput::Text(value.to_owned()))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_section_reads_only_its_parts_and_a_plan_only_its_scope() {
        let r = Registry::load(None).unwrap();
        let profile = sample(&r);
        let whole = r.template("emergency_plan").unwrap();
        let facts = PlanFacts::new(&profile, whole, &EnterpriseData::default(), r.risk());
        assert!(facts.for_section(whole.section("1").unwrap()).is_none());
        let org = facts.for_section(whole.section("4").unwrap()).unwrap();
        let tables = org.tables();
        assert!(tables.contains("【应急组织】"), "{tables}");
        assert!(
            tables.contains("| 总指挥 |  | 周建国 | 总经理 | 13905710001 | 吴志强 |"),
            "{tables}"
        );
        assert!(!tables.contains("【风险清单】"));
        let risks = facts
            .for_section(whole.section("3").unwrap())
            .unwrap()
            .tables();
        assert!(
            risks.contains("| 液氯储罐区 | 中毒和窒息 | 3 | 5 | 氯气泄漏致人员中毒 | 下风向 1 km | 15 | 较大风险 |"),
            "{risks}");
        assert!(risks.contains("LS 矩阵法"));

        let onsite = r.template("onsite_plan").unwrap();
        let post = PlanFacts::new(
            &profile,
            onsite,
            &asked("post_or_facility", "液氯充装岗"),
            r.risk(),
        );
        let at_post = post.for_section(onsite.section("3").unwrap()).unwrap();
        assert!(at_post
            .risks
            .as_ref()
            .unwrap()
            .iter()
            .all(|x| x.unit == "液氯储罐区"));
        assert_eq!(at_post.posts.as_ref().unwrap().len(), 1);
        assert!(at_post
            .equipment
            .as_ref()
            .unwrap()
            .iter()
            .all(|e| e.location.contains("液氯储罐区")));

        let special = r.template("special_plan").unwrap();
        let category = PlanFacts::new(
            &profile,
            special,
            &asked("accident_types", "灼烫"),
            r.risk(),
        );
        let read = category.for_section(special.section("4").unwrap()).unwrap();
        assert_eq!(read.risks.as_ref().unwrap().len(), 1);
        assert_eq!(read.scope.as_deref(), Some("事故类别：灼烫"));
    }

    #[test]
    fn a_plans_form_comes_from_the_profile_and_its_scope_from_the_writer() {
        let r = Registry::load(None).unwrap();
        let profile = sample(&r);
        let special = r.template("special_plan").unwrap();
        let form = profile_form(&profile, special, &asked("accident_types", "火灾"));
        let text = |id: &str| match form.enterprise_info.get(id) {
            Some(FieldInput::Text(t)) => t.clone(),
            other => format!("{other:?}"),
        };
        assert_eq!(text("enterprise_name"), "江南精细化工有限公司");
        assert_eq!(text("accident_types"), "火灾", "the scope is the writer's");
        assert_eq!(text("duty_phone"), "0571-86901119");
        assert!(
            !form.enterprise_info.contains_key("processes"),
            "only the template's fields"
        );
    }
}
