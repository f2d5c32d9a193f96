//! Advanced profile conveniences of [`Session`]: payload codec, timeout unit,
//! progressive results as a stream, testaments.

use super::*;

/// When a router publishes a session's testaments (`wamp.session.add_testament`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TestamentScope {
    /// When the session is destroyed: it left or its transport was lost.
    #[default]
    Destroyed,
    /// When the session is detached from its transport (resumable sessions).
    Detached,
}

impl TestamentScope {
    /// The wire name: `destroyed` or `detached`.
    pub fn as_str(self) -> &'static str {
        match self {
            TestamentScope::Destroyed => "destroyed",
            TestamentScope::Detached => "detached",
        }
    }
}

impl Session {
    /// Sets the payload codec for payload transparency (Autobahn's
    /// `set_payload_codec`; `None` removes it). It applies to every request made after
    /// this returns and every message received after that, on this and every later
    /// connection. See [`crate::wamp::payload`].
    pub fn set_payload_codec(&self, codec: Option<Arc<dyn PayloadCodec>>) {
        let mut settings = lock(&self.shared.settings);
        settings.codec = codec;
        settings.version += 1;
    }

    /// The payload codec, if set (Autobahn's `get_payload_codec`).
    pub fn payload_codec(&self) -> Option<Arc<dyn PayloadCodec>> {
        lock(&self.shared.settings).codec.clone()
    }

    /// Overrides the unit call timeouts are sent to (and read from) the router in
    /// (`None`, the default: Crossbar.io is recognized from its WELCOME and gets
    /// seconds, every other router milliseconds). See [`TimeoutUnit`].
    pub fn set_timeout_unit(&self, unit: Option<TimeoutUnit>) {
        let mut settings = lock(&self.shared.settings);
        settings.timeout_unit = unit;
        settings.version += 1;
    }

    /// Bounds the bytes of received messages the session holds for the application:
    /// events queued for (or being handled by) subscription handlers, running
    /// invocations, progressive results and invocation input not yet taken (`0`: no
    /// bound; default [`DEFAULT_MAX_HANDLER_BYTES`], 16 MiB). Past it the session stops
    /// reading from the router until handlers catch up; see the
    /// [module documentation](super) for what that means for handlers that wait on the
    /// session. Takes effect at once, on this and every later connection.
    pub fn set_max_queued_bytes(&self, bytes: usize) {
        self.shared.queued.set_limit(bytes);
    }

    /// Bytes of received messages the session holds for the application now (see
    /// [`set_max_queued_bytes`](Self::set_max_queued_bytes); an estimate of their heap
    /// size).
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued.held()
    }

    /// Charges a received payload to the session's budget.
    pub(super) fn charge(&self, bytes: usize) -> HeldBytes {
        self.shared.queued.charge(bytes)
    }

    /// Calls a procedure asking for progressive results and returns them as a stream of
    /// [`CallUpdate`]s ([`ProgressiveCall::next`]): each progressive result in order,
    /// then the final result or the error.
    /// `options.on_progress` is replaced. Dropping the stream before the final result
    /// cancels the call like dropping a [`PendingCall`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::{CallOptions, CallUpdate, Dict};
    /// use autobahn::list;
    ///
    /// let mut call = session
    ///     .call_progressive("com.example.countdown", list![3], Dict::new(), CallOptions::default())
    ///     .await;
    /// while let Some(update) = call.next().await {
    ///     match update? {
    ///         CallUpdate::Progress(r) => println!("{:?}", r.value()),
    ///         CallUpdate::Final(r) => println!("final: {:?}", r.value()),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_progressive(
        &self,
        procedure: &str,
        args: Vec<Value>,
        kwargs: Dict,
        mut options: CallOptions,
    ) -> ProgressiveCall {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = self.shared.queued.clone();
        // Results not yet taken from the stream count against the session's budget.
        options.on_progress = Some(Arc::new(move |r: CallResult| {
            let held = queued.charge(payload_size(&r.args, &r.kwargs));
            let _ = tx.send((r, held));
        }));
        let call = self.start_call(procedure, args, kwargs, options).await;
        ProgressiveCall::new(call, rx)
    }

    /// Adds a testament: an event the router publishes to `topic` when this session
    /// ends (scope [`Destroyed`](TestamentScope::Destroyed)) or is detached. Calls the
    /// router's `wamp.session.add_testament` meta procedure (Crossbar.io announces it
    /// as `testament_meta_api`) and returns the publication id it reserved.
    /// `options.acknowledge` and `exclude_me` are ignored by the router.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::{PublishOptions, TestamentScope};
    /// use autobahn::{dict, list};
    ///
    /// // Others learn that this device went away, however it went.
    /// session
    ///     .add_testament(
    ///         "com.example.device.gone",
    ///         list!["device-17"],
    ///         dict! {},
    ///         PublishOptions::default(),
    ///         TestamentScope::Destroyed,
    ///     )
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn add_testament(
        &self,
        topic: &str,
        args: Vec<Value>,
        kwargs: Dict,
        options: PublishOptions,
        scope: TestamentScope,
    ) -> Result<u64, Error> {
        let call_args = vec![
            Value::from(topic),
            Value::List(args),
            Value::Dict(kwargs),
            Value::Dict(options.to_dict()),
            Value::from(scope.as_str()),
        ];
        let r = self
            .call(
                "wamp.session.add_testament",
                call_args,
                Dict::new(),
                CallOptions::default(),
            )
            .await?;
        Ok(r.value().as_u64().unwrap_or(0))
    }

    /// Drops the testaments of `scope` added so far (`wamp.session.flush_testaments`);
    /// returns how many there were.
    pub async fn flush_testaments(&self, scope: TestamentScope) -> Result<u64, Error> {
        let r = self
            .call(
                "wamp.session.flush_testaments",
                vec![Value::from(scope.as_str())],
                Dict::new(),
                CallOptions::default(),
            )
            .await?;
        Ok(r.value().as_u64().unwrap_or(0))
    }
}
