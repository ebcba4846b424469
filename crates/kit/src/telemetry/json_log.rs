//! JSON log lines that carry the trace: `trace_id` and `span_id` of the span an event happened in, so a log
//! back end can jump from a line to its trace and back.

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt as _;
use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Wraps a JSON event format and adds `"trace_id"` and `"span_id"` to each line written inside a traced span.
pub struct WithTraceIds<F> {
    inner: F,
    dispatch: Arc<OnceLock<WeakDispatch>>,
}

/// Hands [`WithTraceIds`] the subscriber it formats for: while an event is being dispatched the current
/// subscriber reads as none, so the span's trace context is looked up through this handle instead.
pub struct DispatchCapture(Arc<OnceLock<WeakDispatch>>);

/// The format and the layer that must be registered beside it.
pub fn with_trace_ids<F>(inner: F) -> (WithTraceIds<F>, DispatchCapture) {
    let dispatch = Arc::new(OnceLock::new());
    (
        WithTraceIds {
            inner,
            dispatch: dispatch.clone(),
        },
        DispatchCapture(dispatch),
    )
}

impl<S: Subscriber> Layer<S> for DispatchCapture {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        if let Some((trace_id, span_id)) = self.trace_ids(ctx) {
            // The inner format wrote one JSON object and a newline: the ids go in before its closing brace.
            if let Some(end) = line.rfind('}') {
                line.insert_str(end, &format!(r#","trace_id":"{trace_id}","span_id":"{span_id}""#));
            }
        }
        writer.write_str(&line)
    }
}

impl<F> WithTraceIds<F> {
    /// The trace and span id of the innermost span around the event that belongs to a trace.
    fn trace_ids<S, N>(&self, ctx: &FmtContext<'_, S, N>) -> Option<(String, String)>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        let dispatch = self.dispatch.get()?.upgrade()?;
        // Spans below the trace export level have no trace context of their own; their parents do.
        ctx.event_scope()?.find_map(|span| {
            let cx = tracing_opentelemetry::get_otel_context(&span.id(), &dispatch)?;
            let otel_span = cx.span();
            let sc = otel_span.span_context();
            sc.is_valid()
                .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
        })
    }
}
