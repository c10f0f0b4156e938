//! Slow calls run on a thread of their own: the thread that awaits them (an
//! app's UI thread, where a Kotlin coroutine or a Swift task started) never
//! waits for Argon2id or the app's key store. The future UniFFI hands to
//! Kotlin (`suspend`), Swift and Python (`async`) completes when the thread
//! is done; no async runtime is needed.

use futures_channel::oneshot;

use crate::error::DynpinError;

/// Runs `work` on a new thread and completes with its result. A thread that
/// cannot be started, or work that panicked, is [`DynpinError::Internal`].
pub(crate) async fn off_the_caller<T, F>(work: F) -> Result<T, DynpinError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, DynpinError> + Send + 'static,
{
    let (done, result) = oneshot::channel();
    spawn(Box::new(move || {
        // The receiver is gone only if the caller dropped the call (a
        // cancelled coroutine or task): the work is finished and saved
        // either way, and nobody is left to tell.
        let _ = done.send(work());
    }))?;
    result.await.unwrap_or_else(|_| {
        Err(DynpinError::Internal {
            reason: "a slow call stopped without a result".to_owned(),
        })
    })
}

/// The thread, started for boxed work: one copy of the spawning code for
/// every slow call, not one per call (the library's size).
fn spawn(job: Box<dyn FnOnce() + Send>) -> Result<(), DynpinError> {
    std::thread::Builder::new()
        .name("dynpin-slow-call".to_owned())
        .spawn(job)
        .map(drop)
        .map_err(|e| DynpinError::Internal {
            reason: format!("cannot start a thread ({})", e.kind()),
        })
}
