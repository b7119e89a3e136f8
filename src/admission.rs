//! The one way a generation comes in, for the JSON API and the pages alike: the request read
//! and checked, its user admitted under their limits (and counted as its payer), and a streamed
//! answer cut at the stream deadline or when the instance stops.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::tokens::User,
    generation::request::{PlanRequest, SectionRequest},
    model::{AppError, GenerateBody, PlanBody, SectionEvent},
    state::AppState,
};

/// One section asked for by `user`, ready to write.
pub async fn section(
    state: &AppState,
    user: &User,
    body: GenerateBody,
) -> Result<SectionRequest, AppError> {
    let mut request = state.generation.read_section(body)?;
    request.payer = Some(state.generation.accounts().admit(user, 1).await?);
    Ok(request)
}

/// A whole plan asked for by `user`, ready to write: admitted for each of its sections.
pub async fn plan(state: &AppState, user: &User, body: PlanBody) -> Result<PlanRequest, AppError> {
    let mut plan = state.generation.read_plan(body)?;
    let sections = plan.template.sections.len() as u32;
    plan.payer = Some(state.generation.accounts().admit(user, sections).await?);
    Ok(plan)
}

/// One section's events as it is written. A failure before any text is the error.
pub async fn stream_section(
    state: &AppState,
    user: &User,
    body: GenerateBody,
) -> Result<impl Stream<Item = SectionEvent> + Send + 'static, AppError> {
    let request = section(state, user, body).await?;
    let events = state.generation.stream(&request).await?;
    Ok(bounded(state, events, cut_event))
}

/// `events` until the stream deadline or the instance's last call; `last` says what ends a
/// stream cut short.
fn bounded<T: Send + 'static>(
    state: &AppState,
    events: impl Stream<Item = T> + Send + 'static,
    last: fn(Cut) -> Option<T>,
) -> impl Stream<Item = T> + Send + 'static {
    with_deadline(events, state.stream_deadline, state.last_call.clone(), last)
}

/// Why a stream was ended before its last item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// It ran for its whole deadline.
    Deadline,
    /// The instance is stopping and its time is up.
    Stopping,
}

/// `stream` for at most `deadline`, or until `last_call`; when cut, `last(why)` (if any) is its
/// final item.
pub fn with_deadline<T: Send + 'static>(
    stream: impl Stream<Item = T> + Send + 'static,
    deadline: Duration,
    last_call: CancellationToken,
    last: fn(Cut) -> Option<T>,
) -> impl Stream<Item = T> + Send + 'static {
    let until = tokio::time::Instant::now() + deadline;
    futures::stream::unfold((Box::pin(stream), false), move |(mut stream, cut)| {
        let last_call = last_call.clone();
        async move {
            if cut {
                return None;
            }
            let why = tokio::select! {
                item = stream.next() => return item.map(|item| (item, (stream, false))),
                () = tokio::time::sleep_until(until) => Cut::Deadline,
                () = last_call.cancelled() => Cut::Stopping,
            };
            last(why).map(|item| (item, (stream, true)))
        }
    })
}

/// The event that ends a section stream cut short.
pub fn cut_event(why: Cut) -> Option<crate::model::SectionEvent> {
    let (code, message) = match why {
        Cut::Deadline => (
            "STREAM_DEADLINE",
            "生成时间超过上限，连接已结束；已生成的部分保留，完整的内容写入缓存后可重新获取",
        ),
        Cut::Stopping => (
            "SERVER_STOPPING",
            "服务实例正在重启，连接已结束；已生成的部分保留，请稍后重新生成该章节",
        ),
    };
    Some(crate::model::SectionEvent::Error {
        code: code.to_owned(),
        message: message.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stream_past_its_deadline_ends_with_the_last_item() {
        let slow = futures::stream::iter(0..10).then(|n| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            n
        });
        let why = |cut| Some(if cut == Cut::Deadline { -1 } else { -2 });
        let never = CancellationToken::new();
        let got: Vec<i32> = with_deadline(slow, Duration::from_millis(3500), never.clone(), why)
            .collect()
            .await;
        assert_eq!(got, [0, 1, 2, -1]);
        let quick = futures::stream::iter(0..3);
        let got: Vec<i32> = with_deadline(quick, Duration::from_secs(1), never, why)
            .collect()
            .await;
        assert_eq!(got, [0, 1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_still_open_when_the_instance_stops_ends_saying_so() {
        let slow = futures::stream::iter(0..10).then(|n| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            n
        });
        let last_call = CancellationToken::new();
        tokio::spawn({
            let last_call = last_call.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(2500)).await;
                last_call.cancel();
            }
        });
        let why = |cut| Some(if cut == Cut::Deadline { -1 } else { -2 });
        let got: Vec<i32> = with_deadline(slow, Duration::from_secs(60), last_call, why)
            .collect()
            .await;
        assert_eq!(got, [0, 1, -2]);
    }
}
