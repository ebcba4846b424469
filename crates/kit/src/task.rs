//! Background tasks that run beside the handlers until the service asks them to stop.

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A spawned task and the switch that stops it.
pub struct TaskHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TaskHandle {
    /// Spawns `run`, which is handed a receiver that turns `true` when the task should return.
    pub fn spawn<F, Fut>(run: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(stopped));
        Self { stop, task }
    }

    /// Asks the task to stop (it finishes the round it is in) and waits until it has.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Resolves once `stop` turns `true` (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}
