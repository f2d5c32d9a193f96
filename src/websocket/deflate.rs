//! Placeholder until the permessage-deflate branch lands.
#![allow(missing_docs, dead_code)]
use std::sync::Arc;
#[derive(Debug, Clone, Default)]
pub struct PerMessageDeflateOffer;
#[derive(Debug, Clone)]
pub struct PerMessageDeflateOfferAccept;
#[derive(Debug, Clone)]
pub struct PerMessageDeflateResponse;
#[derive(Debug, Clone)]
pub struct PerMessageDeflateResponseAccept;
pub type PerMessageCompressionAccept =
    Arc<dyn Fn(&[PerMessageDeflateOffer]) -> Option<PerMessageDeflateOfferAccept> + Send + Sync>;
pub type PerMessageCompressionResponseAccept = Arc<
    dyn Fn(&PerMessageDeflateResponse) -> Option<PerMessageDeflateResponseAccept> + Send + Sync,
>;
pub fn default_server_accept() -> PerMessageCompressionAccept {
    Arc::new(|_| None)
}
pub fn default_client_accept() -> PerMessageCompressionResponseAccept {
    Arc::new(|_| None)
}
pub fn default_client_offers() -> Vec<PerMessageDeflateOffer> {
    Vec::new()
}
#[derive(Debug, thiserror::Error)]
pub enum DeflateError {
    #[error("too big")]
    TooBig,
    #[error("corrupt")]
    Corrupt,
}
#[derive(Debug)]
pub struct PerMessageDeflate;
impl PerMessageDeflate {
    pub fn compress_message(&mut self, _p: &[u8], _out: &mut Vec<u8>) {}
    pub fn compress_chunk(&mut self, _p: &[u8], _fin: bool, _out: &mut Vec<u8>) {}
    pub fn decompress_chunk(
        &mut self,
        _p: &[u8],
        _fin: bool,
        _out: &mut Vec<u8>,
        _limit: usize,
    ) -> Result<(), DeflateError> {
        Ok(())
    }
}
