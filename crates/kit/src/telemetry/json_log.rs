//! JSON log lines that carry the trace: `trace_id` and `span_id` of the span an event happened in, so a log
//! back end can jump from a line to its trace and back.

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt as _;
use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::Registry;
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
        if let Some((trace_id, span_id)) = self.trace_ids(event) {
            // The inner format wrote one JSON object and a newline: the ids go in before its closing brace.
            if let Some(end) = line.rfind('}') {
                line.insert_str(end, &format!(r#","trace_id":"{trace_id}","span_id":"{span_id}""#));
            }
        }
        writer.write_str(&line)
    }
}

impl<F> WithTraceIds<F> {
    /// The trace and span id of the innermost span around `event` that belongs to a trace. The spans are looked
    /// up in the registry itself: the log filter may hide them from the log layer (`warn` hides every request
    /// span) while they are still traced.
    fn trace_ids(&self, event: &Event<'_>) -> Option<(String, String)> {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let registry = dispatch.downcast_ref::<Registry>()?;
        let mut next = if event.is_contextual() {
            dispatch.current_span().id().cloned()
        } else {
            event.parent().cloned()
        };
        while let Some(id) = next {
            // Spans below the trace export level have no trace context of their own; their parents do.
            if let Some(cx) = tracing_opentelemetry::get_otel_context(&id, &dispatch) {
                let otel_span = cx.span();
                let sc = otel_span.span_context();
                if sc.is_valid() {
                    return Some((sc.trace_id().to_string(), sc.span_id().to_string()));
                }
            }
            next = registry.span(&id)?.parent().map(|parent| parent.id());
        }
        None
    }
}
