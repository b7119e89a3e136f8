//! The API's error shape and the status each failure maps to. The same types serialize every
//! error and describe it in the OpenAPI document.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::{
    openapi::{self, ContentBuilder, Ref, RefOr, ResponseBuilder},
    IntoResponses, ToSchema,
};

use crate::{
    generation::GenerationError,
    model::{profile::SavedProfile, AppError, ErrorCode, FieldProblem, PlanJob, SavedPlan},
    plans::StoreError,
    usage::limits::LimitError,
};

/// Every error: `success` is false.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    #[schema(example = false)]
    pub success: bool,
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    #[schema(example = "请填写企业名称（data.enterprise_info.enterprise_name）")]
    pub message: String,
    /// Present for validation errors: every rejected field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldProblem>>,
    /// Present for a save that conflicts (409): the plan as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<SavedPlan>>,
    /// Present when the plan is being generated already (409 `JOB_RUNNING`): that job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<Box<PlanJob>>,
    /// Present for a save of an enterprise profile that conflicts (409): the profile as it is
    /// now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Box<SavedProfile>>,
}

/// An error as the API answers it: the error both sides share, and, for a save that conflicts,
/// the plan as it is now.
#[derive(Debug)]
pub struct ApiError {
    pub error: AppError,
    pub current: Option<Box<SavedPlan>>,
    pub job: Option<Box<PlanJob>>,
    pub profile: Option<Box<SavedProfile>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::new(code, message).into()
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(ErrorCode::MethodNotAllowed, "该接口不支持此请求方法")
    }

    /// 422 naming every rejected field.
    pub fn validation(details: Vec<FieldProblem>) -> Self {
        AppError::validation(details).into()
    }

    /// The status the error's code is answered with.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn with_retry_after(mut self, wait: std::time::Duration) -> Self {
        self.error = self.error.with_retry_after(wait.as_secs());
        self
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self {
            error,
            current: None,
            job: None,
            profile: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let AppError {
            code,
            message,
            details,
            retry_after,
            ..
        } = self.error;
        let body = Json(ErrorResponse {
            success: false,
            error: ErrorBody {
                code: code.as_str().to_owned(),
                message,
                details,
                current: self.current,
                job: self.job,
                profile: self.profile,
            },
        });
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("a valid header"),
            );
        }
        if let Some(wait) = retry_after {
            headers.insert(header::RETRY_AFTER, wait.max(1).into());
        }
        response
    }
}

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        AppError::from(e).into()
    }
}

impl From<GenerationError> for ApiError {
    fn from(e: GenerationError) -> Self {
        AppError::from(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let error = AppError::from(&e);
        let mut answer = Self::from(error);
        match e {
            StoreError::Conflict(current) => answer.current = Some(current),
            StoreError::JobRunning(job) => answer.job = Some(job),
            StoreError::ProfileConflict(profile) => answer.profile = Some(profile),
            _ => {}
        }
        answer
    }
}

type Documented = BTreeMap<String, RefOr<openapi::Response>>;

/// Error answers for the document, each in the `ErrorResponse` shape.
fn documented(list: &[(u16, &str)]) -> Documented {
    list.iter()
        .map(|(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorResponse")))
                .build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/json", content)
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

const UNAUTHORIZED: (u16, &str) = (401, "缺少或无效的令牌");
const BAD_JSON: (u16, &str) = (400, "请求体不是有效的 JSON");
const TOO_LARGE: (u16, &str) = (413, "请求体过大");
const INVALID: (u16, &str) = (422, "字段缺失或不合法");
const LIMITED: (u16, &str) = (
    429,
    "超出该用户的限额（每分钟请求数、同时进行的生成数或每日 tokens），或该地址本分钟的无效令牌过多；Retry-After 给出等待秒数",
);
const GUESSING: (u16, &str) = (429, "该地址本分钟的无效令牌过多，Retry-After 给出等待秒数");

/// What writing a section can fail with.
pub struct SectionErrors;

impl IntoResponses for SectionErrors {
    fn responses() -> Documented {
        documented(&[
            BAD_JSON,
            UNAUTHORIZED,
            (404, "模板或章节不存在"),
            TOO_LARGE,
            INVALID,
            LIMITED,
            (502, "AI 服务出错（流式接口：第一段文字之前）"),
            (
                503,
                "另一实例正在生成同一章节且等待超时，或本实例的模型调用已满（带 Retry-After）",
            ),
            (504, "AI 服务超时（流式接口：第一段文字之前）"),
        ])
    }
}

/// What a plan request can fail with (a failing section is reported inside the plan).
pub struct PlanErrors;

impl IntoResponses for PlanErrors {
    fn responses() -> Documented {
        documented(&[
            BAD_JSON,
            UNAUTHORIZED,
            (
                403,
                "预案的章节数超过该用户每分钟的请求限额，等待也无法通过（OVER_LIMIT）：请逐章生成",
            ),
            (404, "模板不存在"),
            TOO_LARGE,
            INVALID,
            LIMITED,
        ])
    }
}

/// A read that only needs a token.
pub struct CallerErrors;

impl IntoResponses for CallerErrors {
    fn responses() -> Documented {
        documented(&[UNAUTHORIZED, GUESSING])
    }
}

/// Clearing the cache.
pub struct ClearErrors;

impl IntoResponses for ClearErrors {
    fn responses() -> Documented {
        documented(&[
            UNAUTHORIZED,
            (403, "需要管理员令牌"),
            GUESSING,
            (503, "Redis 不可用，未能清除"),
        ])
    }
}

const STORE_DOWN: (u16, &str) = (503, "预案库暂时无法访问（带 Retry-After）");

/// Reading a saved plan or its versions.
pub struct StoreReadErrors;

impl IntoResponses for StoreReadErrors {
    fn responses() -> Documented {
        documented(&[
            UNAUTHORIZED,
            (404, "预案、版本或章节不存在（或属于其他用户）"),
            (409, "预案还不能导出（没有企业名称或没有任何章节正文）"),
            INVALID,
            GUESSING,
            STORE_DOWN,
        ])
    }
}

/// Reading or removing an enterprise profile.
pub struct ProfileReadErrors;

impl IntoResponses for ProfileReadErrors {
    fn responses() -> Documented {
        documented(&[
            UNAUTHORIZED,
            (404, "企业档案不存在（或属于其他用户）"),
            INVALID,
            GUESSING,
            STORE_DOWN,
        ])
    }
}

/// Writing an enterprise profile.
pub struct ProfileWriteErrors;

impl IntoResponses for ProfileWriteErrors {
    fn responses() -> Documented {
        documented(&[
            BAD_JSON,
            UNAUTHORIZED,
            (403, "企业档案数量已达上限（PLAN_LIMIT）"),
            (404, "企业档案不存在（或属于其他用户）"),
            (
                409,
                "base_revision 不是最新的：档案已在别处修改，未写入；error.profile 为当前的档案",
            ),
            TOO_LARGE,
            (
                422,
                "有不合格的字段（如电话格式、负数数量、L 或 S 超出 1–5、重复人员）：error.details 逐项列出位置和原因，未写入任何内容",
            ),
            GUESSING,
            STORE_DOWN,
            (507, "预案库存储空间已满"),
        ])
    }
}

/// Writing a saved plan.
pub struct StoreWriteErrors;

impl IntoResponses for StoreWriteErrors {
    fn responses() -> Documented {
        documented(&[
            BAD_JSON,
            UNAUTHORIZED,
            (
                403,
                "预案数量、手动保存的版本数或存储空间已达上限（PLAN_LIMIT）",
            ),
            (404, "预案、版本或企业档案不存在（或属于其他用户）"),
            (
                409,
                "base_revision 不是最新的：预案已在别处修改，未写入，error.current 为当前的预案；或由企业档案建立预案时档案缺少必需的信息（PROFILE_INCOMPLETE）",
            ),
            TOO_LARGE,
            INVALID,
            GUESSING,
            STORE_DOWN,
            (507, "预案库存储空间已满"),
        ])
    }
}

/// Starting a generation job.
pub struct JobStartErrors;

impl IntoResponses for JobStartErrors {
    fn responses() -> Documented {
        documented(&[
            BAD_JSON,
            UNAUTHORIZED,
            (404, "预案不存在（或属于其他用户），或该预案没有所列的章节"),
            (
                409,
                "该预案已有进行中的生成任务（JOB_RUNNING）；error.job 为该任务",
            ),
            TOO_LARGE,
            INVALID,
            GUESSING,
            STORE_DOWN,
        ])
    }
}

/// Reading or stopping a plan's job, or following its events.
pub struct JobErrors;

impl IntoResponses for JobErrors {
    fn responses() -> Documented {
        documented(&[
            UNAUTHORIZED,
            (404, "预案不存在（或属于其他用户），或还没有生成任务"),
            INVALID,
            GUESSING,
            STORE_DOWN,
        ])
    }
}

/// The answer to a request that ran past its deadline (see `edge`).
pub fn timed_out() -> ApiError {
    ApiError::new(
        ErrorCode::RequestTimeout,
        "请求处理超时，请稍后重试；正在生成的内容完成后会写入缓存",
    )
}

/// The answer to a request whose body did not arrive in time (see `serve::deadline`).
pub fn body_timed_out() -> ApiError {
    ApiError::new(
        ErrorCode::BodyTimeout,
        "请求体未在时限内发送完（网络过慢或连接中断），请重试",
    )
}
