//! Message <-> list form: structural validation on the way in, element order
//! on the way out. One element table ([`Message::elements`]) serves both the
//! serde `Serialize` impl (used by the wire serializers, no intermediate
//! `Value`) and [`Message::to_value`].

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::*;
use crate::wamp::error::ProtocolError;
use crate::wamp::uri::{validate_uri, UriCheck};
use crate::wamp::value::wire::{serialize_text, ValueSeed, Wire, WireDict, WireList};

/// One element of a message's list form.
#[derive(Clone, Copy)]
enum Elem<'a> {
    Int(u64),
    Str(&'a str),
    Dict(&'a Dict),
    List(&'a [Value]),
    /// A bare payload in the `Arguments` position (Autobahn's payload transparency).
    Val(&'a Value),
}

/// The `Details`/`Options` key that marks Autobahn's payload transparency, whose
/// payload travels bare in the `Arguments` position instead of in a list.
const BARE_PAYLOAD_KEY: &str = "enc_algo";

/// The longest message (ERROR with args and kwargs) has 7 elements.
const MAX_ELEMS: usize = 7;

struct Elems<'a> {
    buf: [Elem<'a>; MAX_ELEMS],
    len: usize,
}

impl<'a> Elems<'a> {
    fn new(ty: MessageType) -> Self {
        let mut e = Elems {
            buf: [Elem::Int(0); MAX_ELEMS],
            len: 0,
        };
        e.push(Elem::Int(ty.code()));
        e
    }

    fn push(&mut self, elem: Elem<'a>) {
        // Every message pushes at most MAX_ELEMS elements (checked by tests).
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = elem;
            self.len += 1;
        }
    }

    /// Append `args`/`kwargs` the way the spec recommends: kwargs only if
    /// non-empty, args only if non-empty or needed as a placeholder before
    /// kwargs. With Autobahn's payload transparency keys (`enc_algo` in the
    /// message's dict) a single binary or string argument and no kwargs is
    /// written bare, as Autobahn and Crossbar.io expect it.
    fn payload(&mut self, dict: &Dict, args: &'a Option<Vec<Value>>, kwargs: &'a Option<Dict>) {
        let args: &[Value] = args.as_deref().unwrap_or(&[]);
        let no_kwargs = kwargs.as_ref().is_none_or(|k| k.is_empty());
        if let ([one @ (Value::Bytes(_) | Value::String(_))], true) = (args, no_kwargs) {
            if dict.contains_key(BARE_PAYLOAD_KEY) {
                self.push(Elem::Val(one));
                return;
            }
        }
        match kwargs {
            Some(kw) if !kw.is_empty() => {
                self.push(Elem::List(args));
                self.push(Elem::Dict(kw));
            }
            _ if !args.is_empty() => self.push(Elem::List(args)),
            _ => {}
        }
    }

    fn as_slice(&self) -> &[Elem<'a>] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl Message {
    fn elements(&self) -> Elems<'_> {
        use Elem::*;
        let mut e = Elems::new(self.message_type());
        match self {
            Message::Hello(m) if m.realm.is_empty() => {
                // No realm: the router assigns one (Autobahn's `realm=None`).
                e.push(Val(&Value::Null));
                e.push(Dict(&m.details));
            }
            Message::Hello(m) => {
                e.push(Str(&m.realm));
                e.push(Dict(&m.details));
            }
            Message::Welcome(m) => {
                e.push(Int(m.session));
                e.push(Dict(&m.details));
            }
            Message::Abort(m) => {
                e.push(Dict(&m.details));
                e.push(Str(&m.reason));
            }
            Message::Challenge(m) => {
                e.push(Str(&m.method));
                e.push(Dict(&m.extra));
            }
            Message::Authenticate(m) => {
                e.push(Str(&m.signature));
                e.push(Dict(&m.extra));
            }
            Message::Goodbye(m) => {
                e.push(Dict(&m.details));
                e.push(Str(&m.reason));
            }
            Message::Error(m) => {
                e.push(Int(m.request_type.code()));
                e.push(Int(m.request));
                e.push(Dict(&m.details));
                e.push(Str(&m.error));
                e.payload(&m.details, &m.args, &m.kwargs);
            }
            Message::Publish(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.options));
                e.push(Str(&m.topic));
                e.payload(&m.options, &m.args, &m.kwargs);
            }
            Message::Published(m) => {
                e.push(Int(m.request));
                e.push(Int(m.publication));
            }
            Message::Subscribe(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.options));
                e.push(Str(&m.topic));
            }
            Message::Subscribed(m) => {
                e.push(Int(m.request));
                e.push(Int(m.subscription));
            }
            Message::Unsubscribe(m) => {
                e.push(Int(m.request));
                e.push(Int(m.subscription));
            }
            Message::Unsubscribed(m) => {
                e.push(Int(m.request));
                if !m.details.is_empty() {
                    e.push(Dict(&m.details));
                }
            }
            Message::Event(m) => {
                e.push(Int(m.subscription));
                e.push(Int(m.publication));
                e.push(Dict(&m.details));
                e.payload(&m.details, &m.args, &m.kwargs);
            }
            Message::Call(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.options));
                e.push(Str(&m.procedure));
                e.payload(&m.options, &m.args, &m.kwargs);
            }
            Message::Cancel(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.options));
            }
            Message::Result(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.details));
                e.payload(&m.details, &m.args, &m.kwargs);
            }
            Message::Register(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.options));
                e.push(Str(&m.procedure));
            }
            Message::Registered(m) => {
                e.push(Int(m.request));
                e.push(Int(m.registration));
            }
            Message::Unregister(m) => {
                e.push(Int(m.request));
                e.push(Int(m.registration));
            }
            Message::Unregistered(m) => {
                e.push(Int(m.request));
                if !m.details.is_empty() {
                    e.push(Dict(&m.details));
                }
            }
            Message::Invocation(m) => {
                e.push(Int(m.request));
                e.push(Int(m.registration));
                e.push(Dict(&m.details));
                e.payload(&m.details, &m.args, &m.kwargs);
            }
            Message::Interrupt(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.options));
            }
            Message::Yield(m) => {
                e.push(Int(m.request));
                e.push(Dict(&m.options));
                e.payload(&m.options, &m.args, &m.kwargs);
            }
        }
        e
    }

    /// The list form of the message, e.g. `[48, 1, {}, "com.add", [1, 2]]`.
    /// Empty trailing `args`/`kwargs` are left out.
    pub fn to_value(&self) -> Value {
        let elems = self.elements();
        Value::List(
            elems
                .as_slice()
                .iter()
                .map(|e| match *e {
                    Elem::Int(n) => Value::from_u64(n),
                    Elem::Str(s) => Value::String(s.to_owned()),
                    Elem::Dict(d) => Value::Dict(d.clone()),
                    Elem::List(l) => Value::List(l.to_vec()),
                    Elem::Val(v) => v.clone(),
                })
                .collect(),
        )
    }

    /// Parse and validate the list form of a message (as decoded by a
    /// serializer). Never panics, whatever the input.
    pub fn from_value(value: Value) -> Result<Message, ProtocolError> {
        let items = match value {
            Value::List(items) => items,
            other => return Err(ProtocolError::NotAList(other.type_name())),
        };
        let len = items.len();
        let mut it = items.into_iter();
        let code = match it.next() {
            None => return Err(ProtocolError::Empty),
            Some(Value::Integer(c)) if c >= 0 => c as u64,
            Some(other) => return Err(ProtocolError::InvalidMessageType(other.type_name())),
        };
        let ty = MessageType::from_code(code).ok_or(ProtocolError::UnknownMessageType(code))?;
        let (min, max) = length_range(ty);
        if len < min || len > max {
            return Err(ProtocolError::InvalidLength {
                message: ty.name(),
                len,
            });
        }
        let mut f = Fields {
            message: ty.name(),
            it,
        };
        parse_fields(ty, &mut f)
    }
}

/// Allowed element counts (type code included) per message type.
fn length_range(ty: MessageType) -> (usize, usize) {
    use MessageType::*;
    match ty {
        Hello | Welcome | Abort | Challenge | Authenticate | Goodbye => (3, 3),
        Error => (5, 7),
        Publish | Call => (4, 6),
        Event | Invocation => (4, 6),
        Result | Yield => (3, 5),
        Subscribe | Register => (4, 4),
        Published | Subscribed | Unsubscribe | Registered | Unregister => (3, 3),
        Unsubscribed | Unregistered => (2, 3),
        Cancel | Interrupt => (3, 3),
    }
}

fn parse_fields(ty: MessageType, f: &mut Fields) -> Result<Message, ProtocolError> {
    let loose = UriCheck::LOOSE;
    Ok(match ty {
        MessageType::Hello => Message::Hello(Hello {
            realm: f.optional_uri("Realm", loose)?.unwrap_or_default(),
            details: f.dict("Details")?,
        }),
        MessageType::Welcome => Message::Welcome(Welcome {
            session: f.id("Session")?,
            details: f.dict("Details")?,
        }),
        MessageType::Abort => Message::Abort(Abort {
            details: f.dict("Details")?,
            reason: f.uri("Reason", loose)?,
        }),
        MessageType::Challenge => Message::Challenge(Challenge {
            method: f.string("AuthMethod")?,
            extra: f.dict("Extra")?,
        }),
        MessageType::Authenticate => Message::Authenticate(Authenticate {
            signature: f.string("Signature")?,
            extra: f.dict("Extra")?,
        }),
        MessageType::Goodbye => Message::Goodbye(Goodbye {
            details: f.dict("Details")?,
            reason: f.uri("Reason", loose)?,
        }),
        MessageType::Error => {
            let code = f.int("REQUEST.Type")?;
            let request_type = MessageType::from_code(code)
                .filter(|t| t.is_error_request_type())
                .ok_or(ProtocolError::InvalidErrorRequestType(code))?;
            let request = f.id("REQUEST.Request")?;
            let details = f.dict("Details")?;
            let error = f.uri("Error", loose)?;
            let args = f.args(&details)?;
            Message::Error(ErrorMessage {
                request_type,
                request,
                details,
                error,
                args,
                kwargs: f.kwargs()?,
            })
        }
        MessageType::Publish => {
            let request = f.id("Request")?;
            let options = f.dict("Options")?;
            let topic = f.uri("Topic", loose)?;
            let args = f.args(&options)?;
            Message::Publish(Publish {
                request,
                options,
                topic,
                args,
                kwargs: f.kwargs()?,
            })
        }
        MessageType::Published => Message::Published(Published {
            request: f.id("PUBLISH.Request")?,
            publication: f.id("Publication")?,
        }),
        MessageType::Subscribe => {
            let request = f.id("Request")?;
            let options = f.dict("Options")?;
            let check = UriCheck::for_match_policy(options.get("match").and_then(Value::as_str));
            Message::Subscribe(Subscribe {
                request,
                options,
                topic: f.uri("Topic", check)?,
            })
        }
        MessageType::Subscribed => Message::Subscribed(Subscribed {
            request: f.id("SUBSCRIBE.Request")?,
            subscription: f.id("Subscription")?,
        }),
        MessageType::Unsubscribe => Message::Unsubscribe(Unsubscribe {
            request: f.id("Request")?,
            subscription: f.id("SUBSCRIBED.Subscription")?,
        }),
        MessageType::Unsubscribed => Message::Unsubscribed(Unsubscribed {
            request: f.id("UNSUBSCRIBE.Request")?,
            details: f.opt_dict("Details")?,
        }),
        MessageType::Event => {
            let subscription = f.id("SUBSCRIBED.Subscription")?;
            let publication = f.id("PUBLISHED.Publication")?;
            let details = f.dict("Details")?;
            let args = f.args(&details)?;
            Message::Event(Event {
                subscription,
                publication,
                details,
                args,
                kwargs: f.kwargs()?,
            })
        }
        MessageType::Call => {
            let request = f.id("Request")?;
            let options = f.dict("Options")?;
            let procedure = f.uri("Procedure", loose)?;
            let args = f.args(&options)?;
            Message::Call(Call {
                request,
                options,
                procedure,
                args,
                kwargs: f.kwargs()?,
            })
        }
        MessageType::Cancel => Message::Cancel(Cancel {
            request: f.id("CALL.Request")?,
            options: f.dict("Options")?,
        }),
        MessageType::Result => {
            let request = f.id("CALL.Request")?;
            let details = f.dict("Details")?;
            let args = f.args(&details)?;
            Message::Result(ResultMessage {
                request,
                details,
                args,
                kwargs: f.kwargs()?,
            })
        }
        MessageType::Register => {
            let request = f.id("Request")?;
            let options = f.dict("Options")?;
            let check = UriCheck::for_match_policy(options.get("match").and_then(Value::as_str));
            Message::Register(Register {
                request,
                options,
                procedure: f.uri("Procedure", check)?,
            })
        }
        MessageType::Registered => Message::Registered(Registered {
            request: f.id("REGISTER.Request")?,
            registration: f.id("Registration")?,
        }),
        MessageType::Unregister => Message::Unregister(Unregister {
            request: f.id("Request")?,
            registration: f.id("REGISTERED.Registration")?,
        }),
        MessageType::Unregistered => Message::Unregistered(Unregistered {
            request: f.id("UNREGISTER.Request")?,
            details: f.opt_dict("Details")?,
        }),
        MessageType::Invocation => {
            let request = f.id("Request")?;
            let registration = f.id("REGISTERED.Registration")?;
            let details = f.dict("Details")?;
            let args = f.args(&details)?;
            Message::Invocation(Invocation {
                request,
                registration,
                details,
                args,
                kwargs: f.kwargs()?,
            })
        }
        MessageType::Interrupt => Message::Interrupt(Interrupt {
            request: f.id("INVOCATION.Request")?,
            options: f.dict("Options")?,
        }),
        MessageType::Yield => {
            let request = f.id("INVOCATION.Request")?;
            let options = f.dict("Options")?;
            let args = f.args(&options)?;
            Message::Yield(Yield {
                request,
                options,
                args,
                kwargs: f.kwargs()?,
            })
        }
    })
}

/// Short description of a received element for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => format!("integer {i}"),
        Value::UInteger(u) => format!("integer {u}"),
        Value::Float(x) => format!("float {x}"),
        other => other.type_name().to_owned(),
    }
}

/// The remaining elements of a message being parsed, in order.
struct Fields {
    message: &'static str,
    it: std::vec::IntoIter<Value>,
}

impl Fields {
    fn invalid(&self, field: &'static str, expected: &'static str, got: &Value) -> ProtocolError {
        ProtocolError::InvalidField {
            message: self.message,
            field,
            expected,
            got: describe(got),
        }
    }

    /// The next element; the length was checked up front, so a missing one
    /// only happens if the length table is wrong, and is still an error.
    fn next(&mut self, field: &'static str) -> Result<Value, ProtocolError> {
        self.it.next().ok_or(ProtocolError::InvalidField {
            message: self.message,
            field,
            expected: "an element",
            got: "end of message".to_owned(),
        })
    }

    /// An id: integer in `[0, 2^53]`. Integral floats in that range are
    /// accepted too, since some JavaScript encoders emit large integers as
    /// doubles.
    fn id(&mut self, field: &'static str) -> Result<u64, ProtocolError> {
        const EXPECTED: &str = "id (integer in [0, 2^53])";
        let v = self.next(field)?;
        let id = match v {
            Value::Integer(i) => u64::try_from(i).ok(),
            Value::Float(x) if x.fract() == 0.0 && (0.0..=MAX_ID as f64).contains(&x) => {
                Some(x as u64)
            }
            _ => None,
        };
        match id {
            Some(id) if id <= MAX_ID => Ok(id),
            _ => Err(self.invalid(field, EXPECTED, &v)),
        }
    }

    /// A non-negative integer (not an id, e.g. `REQUEST.Type`).
    fn int(&mut self, field: &'static str) -> Result<u64, ProtocolError> {
        let v = self.next(field)?;
        v.as_u64()
            .ok_or_else(|| self.invalid(field, "non-negative integer", &v))
    }

    fn dict(&mut self, field: &'static str) -> Result<Dict, ProtocolError> {
        match self.next(field)? {
            Value::Dict(d) => Ok(d),
            other => Err(self.invalid(field, "dict", &other)),
        }
    }

    /// A trailing optional dict; absent means empty.
    fn opt_dict(&mut self, field: &'static str) -> Result<Dict, ProtocolError> {
        match self.it.next() {
            None => Ok(Dict::new()),
            Some(Value::Dict(d)) => Ok(d),
            Some(other) => Err(self.invalid(field, "dict", &other)),
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, ProtocolError> {
        match self.next(field)? {
            Value::String(s) => Ok(s),
            other => Err(self.invalid(field, "string", &other)),
        }
    }

    /// A URI or `null`.
    fn optional_uri(
        &mut self,
        field: &'static str,
        check: UriCheck,
    ) -> Result<Option<String>, ProtocolError> {
        match self.it.as_slice().first() {
            Some(Value::Null) => {
                self.it.next();
                Ok(None)
            }
            _ => self.uri(field, check).map(Some),
        }
    }

    fn uri(&mut self, field: &'static str, check: UriCheck) -> Result<String, ProtocolError> {
        let s = match self.next(field)? {
            Value::String(s) => s,
            other => return Err(self.invalid(field, "URI string", &other)),
        };
        match validate_uri(&s, check) {
            Ok(()) => Ok(s),
            Err(_) => Err(ProtocolError::InvalidUri {
                message: self.message,
                field,
                uri: s,
            }),
        }
    }

    /// `Arguments|list`; with Autobahn's payload transparency keys in `dict`, a bare
    /// binary or string payload too (returned as the only argument).
    fn args(&mut self, dict: &Dict) -> Result<Option<Vec<Value>>, ProtocolError> {
        match self.it.next() {
            None => Ok(None),
            Some(Value::List(l)) => Ok(Some(l)),
            Some(v @ (Value::Bytes(_) | Value::String(_)))
                if dict.contains_key(BARE_PAYLOAD_KEY) =>
            {
                Ok(Some(vec![v]))
            }
            Some(other) => Err(self.invalid("Arguments", "list", &other)),
        }
    }

    fn kwargs(&mut self) -> Result<Option<Dict>, ProtocolError> {
        match self.it.next() {
            None => Ok(None),
            Some(Value::Dict(d)) => Ok(Some(d)),
            Some(other) => Err(self.invalid("ArgumentsKw", "dict", &other)),
        }
    }
}

/// Serializes a message as its list form; `JSON` selects the JSON binary
/// convention for [`Value::Bytes`] in payloads and dicts.
pub(crate) struct WireMessage<'a, const JSON: bool>(pub &'a Message);

impl<const JSON: bool> Serialize for WireMessage<'_, JSON> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let elems = self.0.elements();
        let elems = elems.as_slice();
        let mut seq = s.serialize_seq(Some(elems.len()))?;
        for e in elems {
            match *e {
                Elem::Int(n) => seq.serialize_element(&n)?,
                Elem::Str(st) => seq.serialize_element(&WireStr::<JSON>(st))?,
                Elem::Dict(d) => seq.serialize_element(&WireDict::<JSON>(d))?,
                Elem::List(l) => seq.serialize_element(&WireList::<JSON>(l))?,
                Elem::Val(v) => seq.serialize_element(&Wire::<JSON>(v))?,
            }
        }
        seq.end()
    }
}

/// A URI or string element, with the JSON NUL-prefix check.
struct WireStr<'a, const JSON: bool>(&'a str);

impl<const JSON: bool> Serialize for WireStr<'_, JSON> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_text::<JSON, S>(self.0, s)
    }
}

impl Serialize for Message {
    /// Serializes the list form (binary stays binary; the WAMP JSON
    /// serializer applies the `\0` + base64 convention itself).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireMessage::<false>(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Message {
    /// Deserializes and validates the list form.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Message, D::Error> {
        use serde::de::{DeserializeSeed, Error};
        let budget = crate::wamp::value::budget::DecodeBudget::new(usize::MAX);
        let v = ValueSeed::new(false, &budget).deserialize(d)?;
        Message::from_value(v).map_err(D::Error::custom)
    }
}
