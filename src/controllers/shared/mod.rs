//! What every controller shares, as upstream's controllers share client-go's
//! machinery and `pkg/controller/controller_utils.go`: the shared informers
//! and their slim cached pod, the work queue, expectations, the event
//! recorder, discovery of served resources and leader election.

pub mod cached_pod;
pub mod discovery;
pub mod events;
pub mod expectations;
pub mod history;
pub mod informer;
pub mod leader;
pub mod workqueue;

/// A spawned task that is aborted when this is dropped: a controller's
/// helper tasks (event handlers, workers, resyncs) end with the controller's
/// own task, which leader election aborts when the lease is lost.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
