//! What a function sees of its call: the worker it runs on, the extension's state (from
//! `init`) and this worker's own state (from `worker_init`).

use std::any::Any;
use std::cell::{RefCell, RefMut};

use titan_ext_sys::titan_call;

/// The extension's state, shared by every worker: what `init` returned.
pub(crate) struct SharedState(pub(crate) Box<dyn Any + Send + Sync>);

/// One worker's state: what `worker_init` returned. Only ever touched from that worker's thread.
pub(crate) struct WorkerState(pub(crate) RefCell<Box<dyn Any>>);

/// Passed to functions that take `cx: &Context` as their first parameter.
pub struct Context<'a> {
    pub(crate) call: &'a titan_call,
}

impl Context<'_> {
    /// The calling worker (isolate); stable for the worker's life.
    pub fn worker_id(&self) -> u32 {
        self.call.worker_id
    }

    /// The extension's state, as `init` built it. Panics (becoming an error for this call) if
    /// the extension has no state or it is not an `S`.
    pub fn state<S: Any + Send + Sync>(&self) -> &S {
        let shared = self.call.extension_state as *const SharedState;
        assert!(!shared.is_null(), "this extension has no state: declare `init` in titan_ext::extension!");
        // SAFETY: the host passes back exactly the pointer `init` produced (a SharedState) for
        // the life of the extension.
        let shared = unsafe { &*shared };
        shared.0.downcast_ref::<S>().unwrap_or_else(|| panic!("the extension's state is not a {}", std::any::type_name::<S>()))
    }

    /// This worker's own state, as `worker_init` built it; no other thread ever sees it.
    pub fn worker_state<W: Any>(&self) -> RefMut<'_, W> {
        let worker = self.call.worker_state as *const WorkerState;
        assert!(!worker.is_null(), "this extension has no worker state: declare `worker_init` in titan_ext::extension!");
        // SAFETY: the host passes back the pointer `worker_init` produced for this worker, and
        // only from this worker's thread.
        let worker = unsafe { &*worker };
        RefMut::map(worker.0.borrow_mut(), |state| {
            state.downcast_mut::<W>().unwrap_or_else(|| panic!("the worker state is not a {}", std::any::type_name::<W>()))
        })
    }
}
