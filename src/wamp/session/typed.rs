//! Typed WAMP through serde: procedures, callers, subscribers and publishers that work
//! with Rust types instead of `Vec<Value>` + [`Dict`], and a typed application error.
//!
//! The shape is the one WAMP puts on the wire, kept visible: positional arguments are a
//! tuple (`(i64, i64)`, `(String,)`, `()` for none), keyword arguments a struct (or
//! `()` for none), each side converted with serde through [`Value`]. No derive macro is
//! needed beyond serde's own `Serialize`/`Deserialize`.
//!
//! | untyped | typed |
//! |---|---|
//! | [`Session::call`] | [`Session::call_typed`] (and the positional-only [`Session::call_with`]) |
//! | [`Session::register`] | [`Session::register_typed`] |
//! | [`Session::subscribe`] | [`Session::subscribe_typed`] |
//! | [`Session::publish`] | [`Session::publish_typed`] |
//! | [`ApplicationError`] | [`TypedError`] (converts both ways) |
//!
//! The `_typed` suffix keeps the untyped methods as they are and puts the pair next to
//! each other in the documentation.
//!
//! # Compared with derive-macro based clients
//!
//! battler-wamp types its messages through companion crates with procedural macros:
//! derives that map a Rust struct onto a WAMP argument list or keyword dictionary
//! (battler-wamp-values), and a schema macro generating typed caller and callee peer
//! objects (battler-wamprat, battler-wamprat-schema). This crate stays one package
//! without a proc-macro crate, so the typed layer here is generic methods and serde
//! instead: the tuple *is* the positional list and the struct *is* the keyword dict.
//! What that gives up: named positional arguments, per-field wire mappings and
//! generated per-procedure stubs (the URI stays a string at each call site). What it
//! offers: any serde type works as is (no extra derive), a handler is an ordinary
//! closure or `async fn`, decoding failures answer the caller with
//! `wamp.error.invalid_argument` by themselves, and typed and untyped forms mix freely
//! on one session (e.g. a typed caller of an untyped or Python callee).
//!
//! # Conversions
//!
//! - Positional arguments sent (calls, publications): the value's elements when it
//!   serializes to a sequence (a tuple, a `Vec`), none for `()`/`None`, otherwise one
//!   argument (the same rule as [`Session::call_with`]).
//! - Positional arguments received: the list decodes as a sequence into the tuple
//!   (its length must match); an empty list also decodes into `()`.
//! - Keyword arguments: the value must serialize to a map (a struct, a map) or to
//!   `()`/`None` (no keywords); received, the dict decodes into the struct, and an empty
//!   dict also into `()`. Use [`serde::de::IgnoredAny`] to accept and ignore anything.
//! - A typed endpoint's result is sent the Autobahn way, as one positional value
//!   (none for `()`), which a typed caller decodes as [`CallResult::deserialize`] says.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::wamp::error::ValueError;
use crate::wamp::value::from_value;

/// A typed application error (Autobahn's `ApplicationError` with a typed payload): an
/// error URI with positional arguments `A` (a tuple) and keyword arguments `K` (a
/// struct), converted by serde.
///
/// A typed endpoint ([`Session::register_typed`]) returns it to answer the caller with
/// ERROR (through `Into<ApplicationError>`); a caller decodes one from the
/// [`ApplicationError`] its call failed with (`TryFrom<ApplicationError>`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::session::TypedError;
/// use autobahn::wamp::ApplicationError;
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Limit {
///     max: i64,
/// }
///
/// // Raised by a callee: the wire error has the URI, args and kwargs.
/// let raised = TypedError::new("com.example.too_big", ("7 is too big",), Limit { max: 5 });
/// let wire = ApplicationError::from(raised);
/// assert_eq!(wire.error, "com.example.too_big");
/// assert_eq!(wire.message(), Some("7 is too big"));
///
/// // Received by a caller: decoded back.
/// let received = TypedError::<(String,), Limit>::try_from(wire).unwrap();
/// assert_eq!(received.uri, "com.example.too_big");
/// assert_eq!(received.kwargs, Limit { max: 5 });
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypedError<A = (), K = ()> {
    /// The error URI, e.g. `com.example.error.overflow`.
    pub uri: String,
    /// The positional payload (a tuple, `()` for none).
    pub args: A,
    /// The keyword payload (a struct, `()` for none).
    pub kwargs: K,
}

impl<A, K> TypedError<A, K> {
    /// An error with a URI and its payload.
    pub fn new(uri: impl Into<String>, args: A, kwargs: K) -> TypedError<A, K> {
        TypedError {
            uri: uri.into(),
            args,
            kwargs,
        }
    }
}

impl TypedError {
    /// An error with a URI and no payload.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::wamp::session::TypedError;
    /// let e = TypedError::from_uri("com.example.not_found");
    /// assert_eq!(e.uri, "com.example.not_found");
    /// ```
    pub fn from_uri(uri: impl Into<String>) -> TypedError {
        TypedError::new(uri, (), ())
    }
}

impl<A: Serialize, K: Serialize> TypedError<A, K> {
    /// The wire form, failing if the payload does not serialize (or the keyword
    /// payload is not a map). `From` does this and falls back to a message.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::wamp::session::TypedError;
    /// let e = TypedError::new("com.example.oops", (1, 2), ()).to_application_error().unwrap();
    /// assert_eq!(e.args.len(), 2);
    /// ```
    pub fn to_application_error(&self) -> Result<ApplicationError, ValueError> {
        Ok(ApplicationError::new(self.uri.clone())
            .args(encode_args(&self.args)?)
            .kwargs(encode_kwargs(&self.kwargs)?))
    }
}

impl<A: Serialize, K: Serialize> From<TypedError<A, K>> for ApplicationError {
    /// The wire form. A payload that does not serialize cannot be sent: the error keeps
    /// its URI (callers match on it) with the serialization failure as its message.
    fn from(e: TypedError<A, K>) -> ApplicationError {
        e.to_application_error().unwrap_or_else(|why| {
            tracing::warn!(uri = %e.uri, error = %why, "typed error payload does not serialize");
            ApplicationError::with_message(e.uri, format!("error payload did not serialize: {why}"))
        })
    }
}

/// An [`ApplicationError`] whose payload does not decode into the [`TypedError`] asked
/// for: the error itself is handed back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("payload of application error {} does not fit the typed error", error.error)]
pub struct UndecodedError {
    /// The application error, unchanged.
    pub error: ApplicationError,
    /// Why its payload did not decode.
    #[source]
    pub source: ValueError,
}

impl<A: DeserializeOwned, K: DeserializeOwned> TryFrom<ApplicationError> for TypedError<A, K> {
    type Error = UndecodedError;

    /// Decodes the payload of a received error (see the [module](self) conversions).
    fn try_from(error: ApplicationError) -> Result<Self, UndecodedError> {
        match decode_payload(error.args.clone(), error.kwargs.clone()) {
            Ok((args, kwargs)) => Ok(TypedError {
                uri: error.error,
                args,
                kwargs,
            }),
            Err(source) => Err(UndecodedError { error, source }),
        }
    }
}

impl<A: DeserializeOwned, K: DeserializeOwned> TypedError<A, K> {
    /// The typed error a session request failed with: `Ok(None)` if it is not an
    /// application error (a lost transport, a timeout ...), an error if its payload
    /// does not decode.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// use autobahn::wamp::session::TypedError;
    ///
    /// match session.call_with::<_, i64>("com.example.div", (1, 0)).await {
    ///     Ok(q) => println!("{q}"),
    ///     Err(e) => match TypedError::<(String,)>::from_error(&e)? {
    ///         Some(typed) if typed.uri == "com.example.div_by_zero" => println!("{}", typed.args.0),
    ///         _ => return Err(e.into()),
    ///     },
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_error(error: &Error) -> Result<Option<Self>, UndecodedError> {
        match error.application_error() {
            Some(e) => TypedError::try_from(e.clone()).map(Some),
            None => Ok(None),
        }
    }
}

/// Positional arguments to send: a sequence's elements, none for unit, else one value.
pub(crate) fn encode_args<A: Serialize + ?Sized>(args: &A) -> Result<Vec<Value>, ValueError> {
    Ok(match to_value(args)? {
        Value::List(l) => l,
        Value::Null => Vec::new(),
        v => vec![v],
    })
}

/// Keyword arguments to send: a map, or none for unit.
pub(crate) fn encode_kwargs<K: Serialize + ?Sized>(kwargs: &K) -> Result<Dict, ValueError> {
    match to_value(kwargs)? {
        Value::Dict(d) => Ok(d),
        Value::Null => Ok(Dict::new()),
        v => Err(ValueError(format!(
            "keyword arguments must serialize to a map, not {}",
            v.type_name()
        ))),
    }
}

/// Received positional arguments as `A`; an empty list is also unit.
pub(crate) fn decode_args<A: DeserializeOwned>(args: Vec<Value>) -> Result<A, ValueError> {
    let empty = args.is_empty();
    decode_or_unit(Value::List(args), empty, "positional arguments")
}

/// Received keyword arguments as `K`; an empty dict is also unit.
pub(crate) fn decode_kwargs<K: DeserializeOwned>(kwargs: Dict) -> Result<K, ValueError> {
    let empty = kwargs.is_empty();
    decode_or_unit(Value::Dict(kwargs), empty, "keyword arguments")
}

/// Received positional and keyword arguments as `(A, K)`.
fn decode_payload<A: DeserializeOwned, K: DeserializeOwned>(
    args: Vec<Value>,
    kwargs: Dict,
) -> Result<(A, K), ValueError> {
    Ok((decode_args(args)?, decode_kwargs(kwargs)?))
}

/// Decodes `value`; when that fails and the container is `empty`, tries `Null` (so
/// `()` and `Option` accept "nothing"), reporting the first error otherwise.
fn decode_or_unit<T: DeserializeOwned>(
    value: Value,
    empty: bool,
    what: &str,
) -> Result<T, ValueError> {
    from_value(value).or_else(|first| match from_value(Value::Null) {
        Ok(unit) if empty => Ok(unit),
        _ => Err(ValueError(format!("{what}: {first}"))),
    })
}

/// A typed endpoint's result on the wire: one positional value, none for unit.
pub(crate) fn encode_result<R: Serialize>(result: &R) -> Result<CallResult, ValueError> {
    Ok(match to_value(result)? {
        Value::Null => CallResult::new(),
        v => CallResult::with_args(vec![v]),
    })
}

impl Session {
    /// Calls with typed positional and keyword arguments and a typed result (the typed
    /// [`call`](Self::call)). `args` is a tuple, `kwargs` a struct (`()` for none); the
    /// result decodes as [`CallResult::deserialize`] describes. An [`ApplicationError`]
    /// the call fails with decodes with [`TypedError::from_error`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::CallOptions;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Search {
    ///     limit: u32,
    /// }
    /// let hits: Vec<String> = session
    ///     .call_typed("com.example.search", ("rust",), Search { limit: 10 }, CallOptions::default())
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_typed<A, K, R>(
        &self,
        procedure: &str,
        args: A,
        kwargs: K,
        options: CallOptions,
    ) -> Result<R, Error>
    where
        A: Serialize,
        K: Serialize,
        R: DeserializeOwned,
    {
        let (args, kwargs) = (encode_args(&args)?, encode_kwargs(&kwargs)?);
        let result = self.call(procedure, args, kwargs, options).await?;
        Ok(result.deserialize()?)
    }

    /// Registers a typed endpoint (the typed [`register`](Self::register)): each
    /// invocation's positional arguments decode into `A` (a tuple), its keyword
    /// arguments into `K` (a struct, `()` for none), and the endpoint's `Ok` value is
    /// sent as the one positional result (none for `()`). Its error is anything that
    /// converts into an [`ApplicationError`]: a [`TypedError`], an `ApplicationError`,
    /// or a session [`Error`] (so `?` works on calls made from the endpoint).
    ///
    /// Arguments that do not decode never reach the endpoint: the caller gets
    /// `wamp.error.invalid_argument` with a message naming the procedure and what did
    /// not fit. A result that does not serialize is sent as
    /// `wamp.error.invalid_argument` too, and logged.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::session::TypedError;
    /// use autobahn::wamp::{CallDetails, RegisterOptions};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Options {
    ///     #[serde(default)]
    ///     checked: bool,
    /// }
    /// let add2 = |(a, b): (i64, i64), options: Options, _details: CallDetails| async move {
    ///     match a.checked_add(b) {
    ///         Some(sum) => Ok(sum),
    ///         None if options.checked => Err(TypedError::new("com.example.overflow", (a, b), ())),
    ///         None => Ok(a.wrapping_add(b)),
    ///     }
    /// };
    /// session.register_typed("com.example.add2", add2, RegisterOptions::default()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn register_typed<A, K, R, E, F, Fut>(
        &self,
        procedure: &str,
        endpoint: F,
        options: RegisterOptions,
    ) -> Result<Registration, Error>
    where
        A: DeserializeOwned + Send + 'static,
        K: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        E: Into<ApplicationError> + Send + 'static,
        F: Fn(A, K, CallDetails) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        let endpoint = Arc::new(endpoint);
        let uri = Arc::<str>::from(procedure);
        // Decoding runs in the returned future, on the invocation's task: the session
        // task only creates it.
        let untyped = move |args: Vec<Value>, kwargs: Dict, details: CallDetails| {
            let (endpoint, uri) = (endpoint.clone(), uri.clone());
            async move {
                let (a, k) =
                    decode_payload::<A, K>(args, kwargs).map_err(|e| invalid_argument(&uri, e))?;
                let result = endpoint(a, k, details).await.map_err(Into::into)?;
                encode_result(&result).map_err(|e| {
                    tracing::warn!(procedure = %uri, error = %e, "typed result does not serialize");
                    invalid_argument(&uri, e)
                })
            }
        };
        self.register(procedure, untyped, options).await
    }

    /// Subscribes a typed handler (the typed [`subscribe`](Self::subscribe)): each
    /// event's positional arguments decode into `A` (a tuple), its keyword arguments
    /// into `K` (a struct, `()` for none). An event that does not decode, or an error
    /// the handler returns, is reported as [`SessionEvent::UserError`]
    /// (`wamp.error.invalid_argument` for the former); the subscription goes on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::{ApplicationError, EventDetails, SubscribeOptions};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Unit {
    ///     unit: String,
    /// }
    /// let on_reading = |(value,): (f64,), unit: Unit, _details: EventDetails| async move {
    ///     println!("{value} {}", unit.unit);
    ///     Ok::<_, ApplicationError>(())
    /// };
    /// session.subscribe_typed("com.example.temperature", on_reading, SubscribeOptions::default()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn subscribe_typed<A, K, E, F, Fut>(
        &self,
        topic: &str,
        handler: F,
        options: SubscribeOptions,
    ) -> Result<Subscription, Error>
    where
        A: DeserializeOwned + Send + 'static,
        K: DeserializeOwned + Send + 'static,
        E: Into<ApplicationError> + Send + 'static,
        F: Fn(A, K, EventDetails) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let uri = Arc::<str>::from(topic);
        let untyped = move |args: Vec<Value>, kwargs: Dict, details: EventDetails| {
            let (handler, uri) = (handler.clone(), uri.clone());
            async move {
                let (a, k) =
                    decode_payload::<A, K>(args, kwargs).map_err(|e| invalid_argument(&uri, e))?;
                handler(a, k, details).await.map_err(Into::into)
            }
        };
        self.subscribe(topic, untyped, options).await
    }

    /// Publishes an event with typed positional (a tuple) and keyword (a struct, `()`
    /// for none) arguments (the typed [`publish`](Self::publish)). Fails with
    /// [`Error::Value`] before sending if they do not serialize.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(session: autobahn::wamp::Session) -> Result<(), autobahn::wamp::Error> {
    /// use autobahn::wamp::PublishOptions;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Unit {
    ///     unit: &'static str,
    /// }
    /// session
    ///     .publish_typed("com.example.temperature", (21.5,), Unit { unit: "°C" }, PublishOptions::default())
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn publish_typed<A: Serialize, K: Serialize>(
        &self,
        topic: &str,
        args: A,
        kwargs: K,
        options: PublishOptions,
    ) -> Result<Option<Publication>, Error> {
        let (args, kwargs) = (encode_args(&args)?, encode_kwargs(&kwargs)?);
        self.publish(topic, args, kwargs, options).await
    }
}

/// `wamp.error.invalid_argument` naming the procedure or topic and what did not fit.
fn invalid_argument(uri: &str, e: ValueError) -> ApplicationError {
    ApplicationError::with_message(ApplicationError::INVALID_ARGUMENT, format!("{uri}: {e}"))
}

#[cfg(test)]
#[path = "typed_tests.rs"]
mod tests;
