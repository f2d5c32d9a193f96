//! A `tracing` layer that records every event with the spans it happened in (name and
//! fields as they were at that moment), for tests that check what the library logs.
//! Include it with `#[path = "tracing_capture/mod.rs"] mod tracing_capture;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Field values as text (`Debug` for everything but strings).
pub type Fields = BTreeMap<String, String>;

/// A span as an event saw it.
#[derive(Debug, Clone)]
pub struct SpanSeen {
    pub name: &'static str,
    pub fields: Fields,
}

/// One recorded event.
#[derive(Debug, Clone)]
pub struct EventSeen {
    pub level: Level,
    pub message: String,
    pub fields: Fields,
    /// Innermost first.
    pub spans: Vec<SpanSeen>,
}

impl EventSeen {
    /// The innermost enclosing span called `name`.
    pub fn span(&self, name: &str) -> Option<&SpanSeen> {
        self.spans.iter().find(|s| s.name == name)
    }
}

struct FieldVisitor<'a>(&'a mut Fields);

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// The recording layer; clones share the record.
#[derive(Clone, Default)]
pub struct Capture {
    events: Arc<Mutex<Vec<EventSeen>>>,
}

impl Capture {
    /// Everything recorded so far.
    pub fn events(&self) -> Vec<EventSeen> {
        self.events.lock().unwrap().clone()
    }

    /// Makes this layer the current thread's subscriber (trace level) until the guard
    /// drops. Tests using it run on a current-thread runtime, so the library's tasks
    /// log here too.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::registry().with(self.clone());
        let guard = tracing::subscriber::set_default(subscriber);
        // A callsite first hit on a thread without a subscriber (another test of the same
        // binary, running in parallel) may have cached "never"; ask every callsite again.
        tracing::callsite::rebuild_interest_cache();
        guard
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut FieldVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanSeen {
                name: attrs.metadata().name(),
                fields,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(seen) = span.extensions_mut().get_mut::<SpanSeen>() {
                values.record(&mut FieldVisitor(&mut seen.fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut FieldVisitor(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .filter_map(|span| span.extensions().get::<SpanSeen>().cloned())
                    .collect()
            })
            .unwrap_or_default();
        self.events.lock().unwrap().push(EventSeen {
            level: *event.metadata().level(),
            message,
            fields,
            spans,
        });
    }
}
