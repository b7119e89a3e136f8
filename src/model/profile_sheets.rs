//! A profile as sheets of text cells, the way writers keep it (the page's tables, an Excel
//! workbook): one sheet per list, a header row, one row per entry, and 基本情况 as item/value
//! rows. Read back into a profile with every cell that is not what its column takes named by
//! its place (`resources.equipment[3].quantity`, 应急物资装备第 4 行), so nothing typed is lost
//! and the writer is told what to correct.

use serde::{Deserialize, Serialize};

use super::{
    profile::{
        Basics, Equipment, ExternalKind, ExternalResource, KeyPost, OrgMember, OrgRole, Profile,
        RiskUnit, Scale, SensitiveTarget, Team, WorkGroup,
    },
    profile_check::{distance_m, show_distance, trim_number},
    FieldProblem,
};

/// The lists of a profile, in the order the page and the workbook show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sheet {
    Groups,
    People,
    Risks,
    Equipment,
    Teams,
    External,
    Targets,
    Posts,
}

impl Sheet {
    pub const ALL: [Sheet; 8] = [
        Sheet::Groups,
        Sheet::People,
        Sheet::Risks,
        Sheet::Equipment,
        Sheet::Teams,
        Sheet::External,
        Sheet::Targets,
        Sheet::Posts,
    ];

    /// The sheet's name (a workbook's tab).
    pub fn title(self) -> &'static str {
        match self {
            Sheet::Groups => "工作组",
            Sheet::People => "应急组织",
            Sheet::Risks => "风险清单",
            Sheet::Equipment => "应急物资装备",
            Sheet::Teams => "应急队伍",
            Sheet::External => "外部应急资源",
            Sheet::Targets => "周边敏感目标",
            Sheet::Posts => "重点岗位",
        }
    }

    /// Where its rows are in a profile, for problems.
    pub fn path(self) -> &'static str {
        match self {
            Sheet::Groups => "organization.groups",
            Sheet::People => "organization.people",
            Sheet::Risks => "risks",
            Sheet::Equipment => "resources.equipment",
            Sheet::Teams => "resources.teams",
            Sheet::External => "resources.external",
            Sheet::Targets => "targets",
            Sheet::Posts => "posts",
        }
    }

    /// Its columns: header, and the field each is kept in.
    pub fn columns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Sheet::Groups => &[("工作组名称", "name"), ("职责", "duties")],
            Sheet::People => &[
                ("角色", "role"),
                ("工作组", "group"),
                ("姓名", "name"),
                ("职务", "post"),
                ("手机", "mobile"),
                ("替补人", "deputy"),
            ],
            Sheet::Risks => &[
                ("风险单元", "unit"),
                ("事故类别", "category"),
                ("可能性L", "l"),
                ("严重性S", "s"),
                ("事故后果", "consequences"),
                ("影响范围", "reach"),
            ],
            Sheet::Equipment => &[
                ("名称", "name"),
                ("规格型号", "spec"),
                ("数量", "quantity"),
                ("单位", "unit"),
                ("存放位置", "location"),
                ("管理责任人", "custodian"),
                ("电话", "phone"),
                ("检验或有效期至", "due"),
            ],
            Sheet::Teams => &[
                ("队伍名称", "name"),
                ("人数", "headcount"),
                ("专业特长", "speciality"),
                ("负责人", "leader"),
                ("电话", "phone"),
            ],
            Sheet::External => &[
                ("类别", "kind"),
                ("名称", "name"),
                ("距离", "distance_m"),
                ("电话", "phone"),
                ("已签协议", "agreement"),
            ],
            Sheet::Targets => &[
                ("名称", "name"),
                ("方位", "direction"),
                ("距离", "distance_m"),
                ("人数", "people"),
            ],
            Sheet::Posts => &[
                ("岗位", "post"),
                ("所在区域", "area"),
                ("人数", "people"),
                ("主要风险", "risks"),
            ],
        }
    }

    /// The choices a column offers, when it has fixed ones.
    pub fn choices(self, field: &str) -> Option<Vec<&'static str>> {
        match (self, field) {
            (Sheet::People, "role") => Some(OrgRole::ALL.iter().map(|r| r.label()).collect()),
            (Sheet::External, "kind") => {
                Some(ExternalKind::ALL.iter().map(|k| k.label()).collect())
            }
            (Sheet::External, "agreement") => Some(vec!["否", "是"]),
            _ => None,
        }
    }
}

/// The items of 基本情况, in form order: label and field.
pub const BASICS: [(&str, &str); 17] = [
    ("企业名称", "enterprise_name"),
    ("统一社会信用代码", "credit_code"),
    ("行业类型", "industry_type"),
    ("企业规模", "scale"),
    ("地址", "address"),
    ("经度", "longitude"),
    ("纬度", "latitude"),
    ("主要产品", "main_products"),
    ("从业人员数量", "employees_count"),
    ("主要负责人", "principal"),
    ("应急值守电话", "duty_phone"),
    ("主要原材料", "raw_materials"),
    ("年产量", "annual_output"),
    ("生产工艺", "processes"),
    ("危险化学品", "hazardous_chemicals"),
    ("重大危险源", "major_hazard_sources"),
    ("特种设备", "special_equipment"),
];

/// A profile as text cells: 基本情况 by field, each list as rows of cells in its columns'
/// order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sheets {
    pub basics: Vec<(String, String)>,
    pub lists: Vec<(Sheet, Vec<Vec<String>>)>,
}

fn number(v: f64) -> String {
    trim_number(v)
}

impl Sheets {
    pub fn of(p: &Profile) -> Self {
        let b = &p.basics;
        let basics = BASICS
            .iter()
            .map(|(_, field)| {
                let value = match *field {
                    "enterprise_name" => b.enterprise_name.clone(),
                    "credit_code" => b.credit_code.clone(),
                    "industry_type" => b.industry_type.clone(),
                    "scale" => b.scale.map(|s| s.label().to_owned()).unwrap_or_default(),
                    "address" => b.address.clone(),
                    "longitude" => b.longitude.map(number).unwrap_or_default(),
                    "latitude" => b.latitude.map(number).unwrap_or_default(),
                    "main_products" => b.main_products.clone(),
                    "employees_count" => {
                        b.employees_count.map(|n| n.to_string()).unwrap_or_default()
                    }
                    "principal" => b.principal.clone(),
                    "duty_phone" => b.duty_phone.clone(),
                    "raw_materials" => b.raw_materials.clone(),
                    "annual_output" => b.annual_output.clone(),
                    "processes" => b.processes.clone(),
                    "hazardous_chemicals" => b.hazardous_chemicals.clone(),
                    "major_hazard_sources" => b.major_hazard_sources.clone(),
                    _ => b.special_equipment.clone(),
                };
                ((*field).to_owned(), value)
            })
            .collect();
        let o = &p.organization;
        let r = &p.resources;
        let opt = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let dist = |d: Option<f64>| d.map(show_distance).unwrap_or_default();
        let lists = vec![
            (
                Sheet::Groups,
                o.groups
                    .iter()
                    .map(|g| vec![g.name.clone(), g.duties.clone()])
                    .collect(),
            ),
            (
                Sheet::People,
                o.people
                    .iter()
                    .map(|m| {
                        vec![
                            m.role.label().to_owned(),
                            m.group.clone(),
                            m.name.clone(),
                            m.post.clone(),
                            m.mobile.clone(),
                            m.deputy.clone(),
                        ]
                    })
                    .collect(),
            ),
            (
                Sheet::Risks,
                p.risks
                    .iter()
                    .map(|x| {
                        vec![
                            x.unit.clone(),
                            x.category.clone(),
                            x.l.to_string(),
                            x.s.to_string(),
                            x.consequences.clone(),
                            x.reach.clone(),
                        ]
                    })
                    .collect(),
            ),
            (
                Sheet::Equipment,
                r.equipment
                    .iter()
                    .map(|e| {
                        vec![
                            e.name.clone(),
                            e.spec.clone(),
                            number(e.quantity),
                            e.unit.clone(),
                            e.location.clone(),
                            e.custodian.clone(),
                            e.phone.clone(),
                            e.due.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            ),
            (
                Sheet::Teams,
                r.teams
                    .iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            t.headcount.to_string(),
                            t.speciality.clone(),
                            t.leader.clone(),
                            t.phone.clone(),
                        ]
                    })
                    .collect(),
            ),
            (
                Sheet::External,
                r.external
                    .iter()
                    .map(|x| {
                        vec![
                            x.kind.label().to_owned(),
                            x.name.clone(),
                            dist(x.distance_m),
                            x.phone.clone(),
                            if x.agreement { "是" } else { "否" }.to_owned(),
                        ]
                    })
                    .collect(),
            ),
            (
                Sheet::Targets,
                p.targets
                    .iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            t.direction.clone(),
                            dist(t.distance_m),
                            opt(t.people),
                        ]
                    })
                    .collect(),
            ),
            (
                Sheet::Posts,
                p.posts
                    .iter()
                    .map(|x| {
                        vec![
                            x.post.clone(),
                            x.area.clone(),
                            opt(x.people),
                            x.risks.join("、"),
                        ]
                    })
                    .collect(),
            ),
        ];
        Self { basics, lists }
    }

    pub fn rows(&self, sheet: Sheet) -> &[Vec<String>] {
        self.lists
            .iter()
            .find(|(s, _)| *s == sheet)
            .map(|(_, rows)| rows.as_slice())
            .unwrap_or_default()
    }

    fn basic(&self, field: &str) -> String {
        self.basics
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// The profile the cells spell, and every cell that is not what its column takes. Rows with
    /// every cell blank are left out.
    pub fn read(&self) -> (Profile, Vec<FieldProblem>) {
        let (profile, problems, _) = self.read_placed();
        (profile, problems)
    }

    /// `read`, and where each kept row came from, so problems found in the profile can be told
    /// at the row the writer sees.
    pub fn read_placed(&self) -> (Profile, Vec<FieldProblem>, Placement) {
        let mut placement = Placement::default();
        let mut problems = Vec::new();
        let mut p = Profile::default();
        let mut basic_problem = |field: &str, label: &str, message: String| {
            problems.push(FieldProblem {
                field: format!("basics.{field}"),
                message: format!("基本情况：{label}{message}"),
            });
        };
        let float = |text: &str| text.parse::<f64>().ok().filter(|v| v.is_finite());
        p.basics = Basics {
            enterprise_name: self.basic("enterprise_name"),
            credit_code: self.basic("credit_code"),
            industry_type: self.basic("industry_type"),
            address: self.basic("address"),
            main_products: self.basic("main_products"),
            principal: self.basic("principal"),
            duty_phone: self.basic("duty_phone"),
            raw_materials: self.basic("raw_materials"),
            annual_output: self.basic("annual_output"),
            processes: self.basic("processes"),
            hazardous_chemicals: self.basic("hazardous_chemicals"),
            major_hazard_sources: self.basic("major_hazard_sources"),
            special_equipment: self.basic("special_equipment"),
            ..Basics::default()
        };
        let scale = self.basic("scale");
        if !scale.is_empty() {
            p.basics.scale = Scale::ALL.into_iter().find(|s| s.label() == scale);
            if p.basics.scale.is_none() {
                basic_problem("scale", "企业规模", "应为大型、中型、小型或微型".into());
            }
        }
        for (field, label) in [("longitude", "经度"), ("latitude", "纬度")] {
            let text = self.basic(field);
            if text.is_empty() {
                continue;
            }
            match float(&text) {
                Some(v) if field == "longitude" => p.basics.longitude = Some(v),
                Some(v) => p.basics.latitude = Some(v),
                None => basic_problem(field, label, format!("应为数字（填写的是“{text}”）")),
            }
        }
        let count = self.basic("employees_count");
        if !count.is_empty() {
            match count.parse::<i64>() {
                Ok(n) => p.basics.employees_count = Some(n),
                Err(_) => basic_problem(
                    "employees_count",
                    "从业人员数量",
                    format!("应为整数（填写的是“{count}”）"),
                ),
            }
        }

        for sheet in Sheet::ALL {
            let columns = sheet.columns();
            let mut kept = Vec::new();
            for (i, row) in self.rows(sheet).iter().enumerate() {
                if row.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let before = p.rows(sheet);
                let mut cells = Cells {
                    sheet,
                    row: i,
                    cells: row,
                    columns,
                    problems: &mut problems,
                };
                match sheet {
                    Sheet::Groups => p.organization.groups.push(WorkGroup {
                        name: cells.text("name"),
                        duties: cells.text("duties"),
                    }),
                    Sheet::People => {
                        let role = cells.choice("role", OrgRole::from_label);
                        if let Some(role) = role {
                            p.organization.people.push(OrgMember {
                                role,
                                group: cells.text("group"),
                                name: cells.text("name"),
                                post: cells.text("post"),
                                mobile: cells.text("mobile"),
                                deputy: cells.text("deputy"),
                            });
                        }
                    }
                    Sheet::Risks => {
                        let (l, s) = (cells.integer("l"), cells.integer("s"));
                        if let (Some(l), Some(s)) = (l, s) {
                            p.risks.push(RiskUnit {
                                unit: cells.text("unit"),
                                category: cells.text("category"),
                                l,
                                s,
                                level: None,
                                consequences: cells.text("consequences"),
                                reach: cells.text("reach"),
                            });
                        }
                    }
                    Sheet::Equipment => {
                        if let Some(quantity) = cells.float("quantity") {
                            let due = cells.text("due");
                            p.resources.equipment.push(Equipment {
                                name: cells.text("name"),
                                spec: cells.text("spec"),
                                quantity,
                                unit: cells.text("unit"),
                                location: cells.text("location"),
                                custodian: cells.text("custodian"),
                                phone: cells.text("phone"),
                                due: (!due.is_empty()).then_some(due),
                            });
                        }
                    }
                    Sheet::Teams => {
                        if let Some(headcount) = cells.integer("headcount") {
                            p.resources.teams.push(Team {
                                name: cells.text("name"),
                                headcount,
                                speciality: cells.text("speciality"),
                                leader: cells.text("leader"),
                                phone: cells.text("phone"),
                            });
                        }
                    }
                    Sheet::External => {
                        let kind = cells.choice("kind", ExternalKind::from_label);
                        let distance = cells.distance("distance_m");
                        let agreement = cells.choice("agreement", |t| match t {
                            "是" | "有" | "Y" | "y" | "1" => Some(true),
                            "否" | "无" | "N" | "n" | "0" | "" => Some(false),
                            _ => None,
                        });
                        if let (Some(kind), Some(distance), Some(agreement)) =
                            (kind, distance, agreement)
                        {
                            p.resources.external.push(ExternalResource {
                                kind,
                                name: cells.text("name"),
                                distance_m: distance,
                                phone: cells.text("phone"),
                                agreement,
                            });
                        }
                    }
                    Sheet::Targets => {
                        let distance = cells.distance("distance_m");
                        let people = cells.optional_integer("people");
                        if let (Some(distance), Some(people)) = (distance, people) {
                            p.targets.push(SensitiveTarget {
                                name: cells.text("name"),
                                direction: cells.text("direction"),
                                distance_m: distance,
                                people,
                            });
                        }
                    }
                    Sheet::Posts => {
                        if let Some(people) = cells.optional_integer("people") {
                            p.posts.push(KeyPost {
                                post: cells.text("post"),
                                area: cells.text("area"),
                                people,
                                risks: cells
                                    .text("risks")
                                    .split(['、', ',', '，', ';', '；', '/'])
                                    .map(|r| r.trim().to_owned())
                                    .filter(|r| !r.is_empty())
                                    .collect(),
                            });
                        }
                    }
                }
                if p.rows(sheet) > before {
                    kept.push(i);
                }
            }
            placement.0.push((sheet, kept));
        }
        (p, problems, placement)
    }
}

impl Profile {
    /// How many rows `sheet` has in this profile.
    fn rows(&self, sheet: Sheet) -> usize {
        match sheet {
            Sheet::Groups => self.organization.groups.len(),
            Sheet::People => self.organization.people.len(),
            Sheet::Risks => self.risks.len(),
            Sheet::Equipment => self.resources.equipment.len(),
            Sheet::Teams => self.resources.teams.len(),
            Sheet::External => self.resources.external.len(),
            Sheet::Targets => self.targets.len(),
            Sheet::Posts => self.posts.len(),
        }
    }
}

/// For each sheet, the sheet row each profile row was read from.
#[derive(Debug, Clone, Default)]
pub struct Placement(Vec<(Sheet, Vec<usize>)>);

impl Placement {
    /// `problems` found in the profile, told at the sheet rows they came from.
    pub fn place(&self, problems: Vec<FieldProblem>) -> Vec<FieldProblem> {
        problems
            .into_iter()
            .map(|mut problem| {
                for (sheet, rows) in &self.0 {
                    let prefix = format!("{}[", sheet.path());
                    let Some(rest) = problem.field.strip_prefix(&prefix) else {
                        continue;
                    };
                    let Some((index, tail)) = rest.split_once(']') else {
                        continue;
                    };
                    let Some((index, row)) = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| rows.get(i).map(|row| (i, *row)))
                    else {
                        continue;
                    };
                    let label = problem
                        .message
                        .split_once("第 ")
                        .map(|(label, _)| label.to_owned())
                        .unwrap_or_default();
                    problem.field = format!("{prefix}{row}]{tail}");
                    problem.message = problem.message.replacen(
                        &format!("{label}第 {} 行", index + 1),
                        &format!("{label}第 {} 行", row + 1),
                        1,
                    );
                    break;
                }
                problem
            })
            .collect()
    }
}

/// One row's cells, read by column.
struct Cells<'a> {
    sheet: Sheet,
    row: usize,
    cells: &'a [String],
    columns: &'static [(&'static str, &'static str)],
    problems: &'a mut Vec<FieldProblem>,
}

impl Cells<'_> {
    fn text(&self, field: &str) -> String {
        self.columns
            .iter()
            .position(|(_, f)| *f == field)
            .and_then(|i| self.cells.get(i))
            .map(|c| c.trim().to_owned())
            .unwrap_or_default()
    }

    fn problem(&mut self, field: &str, message: String) {
        let label = self
            .columns
            .iter()
            .find(|(_, f)| *f == field)
            .map_or(field, |(l, _)| l);
        self.problems.push(FieldProblem {
            field: format!("{}[{}].{field}", self.sheet.path(), self.row),
            message: format!(
                "{}第 {} 行：{label}{message}",
                self.sheet.title(),
                self.row + 1
            ),
        });
    }

    fn integer(&mut self, field: &str) -> Option<i64> {
        let text = self.text(field);
        match text.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) if text.is_empty() => {
                self.problem(field, "不能为空".into());
                None
            }
            Err(_) => {
                self.problem(field, format!("应为整数（填写的是“{text}”）"));
                None
            }
        }
    }

    /// Empty is `Some(None)`.
    fn optional_integer(&mut self, field: &str) -> Option<Option<i64>> {
        if self.text(field).is_empty() {
            return Some(None);
        }
        self.integer(field).map(Some)
    }

    fn float(&mut self, field: &str) -> Option<f64> {
        let text = self.text(field);
        match text.parse::<f64>().ok().filter(|v| v.is_finite()) {
            Some(v) => Some(v),
            None if text.is_empty() => {
                self.problem(field, "不能为空".into());
                None
            }
            None => {
                self.problem(field, format!("应为数字（填写的是“{text}”）"));
                None
            }
        }
    }

    /// A distance in m or km; empty is `Some(None)`.
    fn distance(&mut self, field: &str) -> Option<Option<f64>> {
        let text = self.text(field);
        if text.is_empty() {
            return Some(None);
        }
        match distance_m(&text) {
            Some(m) => Some(Some(m)),
            None => {
                self.problem(
                    field,
                    format!("应为距离，如 800 m 或 1.5 km（填写的是“{text}”）"),
                );
                None
            }
        }
    }

    fn choice<T>(&mut self, field: &str, read: impl Fn(&str) -> Option<T>) -> Option<T> {
        let text = self.text(field);
        let found = read(&text);
        if found.is_none() {
            let options = self
                .sheet
                .choices(field)
                .map(|c| c.join("、"))
                .unwrap_or_default();
            self.problem(field, format!("应为{options}之一（填写的是“{text}”）"));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_survives_its_sheets() {
        let mut p = Profile::default();
        p.basics.enterprise_name = "某化工".into();
        p.basics.employees_count = Some(12);
        p.basics.scale = Some(Scale::Small);
        p.organization.groups.push(WorkGroup {
            name: "抢险组".into(),
            duties: "抢险".into(),
        });
        p.organization.people.push(OrgMember {
            role: OrgRole::GroupLeader,
            group: "抢险组".into(),
            name: "王五".into(),
            post: String::new(),
            mobile: "13800001111".into(),
            deputy: String::new(),
        });
        p.resources.external.push(ExternalResource {
            kind: ExternalKind::Hospital,
            name: "某医院".into(),
            distance_m: Some(1500.0),
            phone: "120".into(),
            agreement: true,
        });
        p.posts.push(KeyPost {
            post: "充装岗".into(),
            area: "罐区".into(),
            people: Some(3),
            risks: vec!["火灾".into(), "中毒和窒息".into()],
        });
        let (back, problems) = Sheets::of(&p).read();
        assert_eq!(problems, []);
        assert_eq!(back, p);
    }

    #[test]
    fn problems_in_the_profile_are_told_at_the_row_the_writer_sees() {
        let mut sheets = Sheets::of(&Profile::default());
        for (sheet, rows) in &mut sheets.lists {
            if *sheet == Sheet::Teams {
                rows.push(vec!["".into(); 5]);
                rows.push(vec!["消防队".into(), "3".into()]);
            }
        }
        let (_, problems, placement) = sheets.read_placed();
        assert_eq!(problems, []);
        let found = vec![FieldProblem {
            field: "resources.teams[0].phone".into(),
            message: "应急队伍第 1 行：电话格式不正确".into(),
        }];
        let placed = placement.place(found);
        assert_eq!(placed[0].field, "resources.teams[1].phone");
        assert_eq!(placed[0].message, "应急队伍第 2 行：电话格式不正确");
    }

    #[test]
    fn each_bad_cell_is_named_and_the_rest_is_read() {
        let mut sheets = Sheets::of(&Profile::default());
        sheets.basics[0].1 = "某化工".into();
        for (sheet, rows) in &mut sheets.lists {
            match sheet {
                Sheet::Equipment => {
                    rows.push(vec![
                        "灭火器".into(),
                        "".into(),
                        "十".into(),
                        "具".into(),
                        "库房".into(),
                    ]);
                    rows.push(vec![
                        "沙".into(),
                        "".into(),
                        "2".into(),
                        "t".into(),
                        "库房".into(),
                    ]);
                    rows.push(vec!["".into(); 8]);
                }
                Sheet::External => rows.push(vec!["邻居".into(), "某厂".into(), "远".into()]),
                _ => {}
            }
        }
        let (p, problems) = sheets.read();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "resources.equipment[0].quantity",
                "resources.external[0].kind",
                "resources.external[0].distance_m"
            ]
        );
        assert_eq!(
            problems[0].message,
            "应急物资装备第 1 行：数量应为数字（填写的是“十”）"
        );
        assert_eq!(p.resources.equipment.len(), 1, "the good row is read");
    }
}

/// A profile as the 企业档案 page edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileEditor {
    pub id: String,
    pub revision: i64,
    pub updated_at: String,
    pub sheets: Sheets,
    /// The accident categories a risk or a post may name.
    pub categories: Vec<String>,
    /// How risks are graded, in words.
    pub grading: String,
    /// Each risk's level as saved, by row.
    pub levels: Vec<String>,
}

/// What a save of the page's sheets came to. A refusal the writer can act on is an answer,
/// not a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProfileSaveOutcome {
    Saved(ProfileSaved),
    /// Cells to correct; nothing was written.
    Invalid(Vec<FieldProblem>),
    /// Changed elsewhere since the page's revision; nothing was written.
    Conflict,
}

/// A save of the page's sheets: the profile as now kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSaved {
    pub revision: i64,
    pub updated_at: String,
    pub sheets: Sheets,
    pub levels: Vec<String>,
}
