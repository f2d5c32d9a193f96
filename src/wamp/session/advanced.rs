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
        options.on_progress = Some(Arc::new(move |r: CallResult| {
            let _ = tx.send(r);
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
