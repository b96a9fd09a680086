//! What a job kind does: the [`JobHandler`] trait, the context a handler runs with, how it
//! reports failure, and the [`Registry`] that maps kinds to handlers.

use std::{
    collections::HashMap, fmt::Display, future::Future, pin::Pin, sync::Arc, time::Duration,
};

use gimbal_db::Pool;
use serde_json::Value;

/// A boxed, sendable future (the same type as `futures::future::BoxFuture`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a handler returns: a JSON result stored on the job, or why it failed.
pub type JobResult = Result<Value, JobFailure>;

/// Everything a handler knows about the run it is part of.
#[derive(Clone)]
pub struct JobContext {
    pub job_id: i64,
    pub kind: String,
    /// 1 on the first run.
    pub attempt: i32,
    pub max_attempts: i32,
    pub worker_id: String,
    pub pool: Pool,
}

impl JobContext {
    /// Whether a failure now would be final (no attempts left).
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// Why a run failed, and whether running it again could help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobFailure {
    /// Transient: retried with exponential backoff, or no sooner than `after` when given (for
    /// example a provider's `Retry-After`), until the attempts run out.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Running it again cannot succeed (bad payload, missing record): dead at once.
    Permanent { error: String },
}

impl JobFailure {
    pub fn retry(error: impl Display) -> Self {
        JobFailure::Retry {
            error: error.to_string(),
            after: None,
        }
    }

    pub fn retry_after(error: impl Display, after: Duration) -> Self {
        JobFailure::Retry {
            error: error.to_string(),
            after: Some(after),
        }
    }

    pub fn permanent(error: impl Display) -> Self {
        JobFailure::Permanent {
            error: error.to_string(),
        }
    }

    pub fn error(&self) -> &str {
        match self {
            JobFailure::Retry { error, .. } | JobFailure::Permanent { error } => error,
        }
    }
}

impl Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.error())
    }
}

/// Runs jobs of one kind. Closures `|ctx, payload| async move { … }` implement it.
pub trait JobHandler: Send + Sync + 'static {
    fn run(&self, ctx: JobContext, payload: Value) -> BoxFuture<'static, JobResult>;
}

impl<F, Fut> JobHandler for F
where
    F: Fn(JobContext, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = JobResult> + Send + 'static,
{
    fn run(&self, ctx: JobContext, payload: Value) -> BoxFuture<'static, JobResult> {
        Box::pin(self(ctx, payload))
    }
}

/// Job kinds and their handlers. Cloning is cheap: handlers are shared.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Arc<dyn JobHandler>>,
}

impl Registry {
    /// A registry holding the maintenance jobs every deployment needs.
    pub fn with_builtins() -> Self {
        let mut registry = Registry::default();
        crate::maintenance::register(&mut registry);
        registry
    }

    /// Registers (or replaces) the handler for `kind`:
    /// `registry.register("kind", |ctx, payload| async move { … })`. The `Fn` bound (rather than
    /// `JobHandler`) is what lets the compiler infer the closure's argument types.
    pub fn register<F, Fut>(&mut self, kind: impl Into<String>, handler: F) -> &mut Self
    where
        F: Fn(JobContext, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        self.register_handler(kind, handler)
    }

    /// Registers (or replaces) a handler that implements [`JobHandler`] itself.
    pub fn register_handler<H: JobHandler>(
        &mut self,
        kind: impl Into<String>,
        handler: H,
    ) -> &mut Self {
        self.handlers.insert(kind.into(), Arc::new(handler));
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&str> {
        let mut kinds: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        kinds.sort_unstable();
        kinds
    }

    pub(crate) fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}
