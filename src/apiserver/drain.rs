//! A request body that is drained, not dropped, when a handler answers
//! without reading it (an unserved path, 401, 406, ...).
//!
//! Over HTTP/2, dropping an unread request body makes hyper reset the
//! stream (`RST_STREAM(CANCEL)`), and the answer already queued is lost:
//! curl reports a stream error instead of the 404. Go's server answers and
//! then discards the rest of the body. Here the unread rest is read in the
//! background, bounded in bytes and time, while the answer goes out.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// Most bytes of an unread body drained after the answer (the request body
/// limit); beyond that, or after [`DRAIN_TIME`], the stream is reset.
const DRAIN_BYTES: usize = super::negotiate::MAX_BODY;
const DRAIN_TIME: Duration = Duration::from_secs(10);

pub struct DrainOnDrop {
    inner: Option<Body>,
    done: bool,
}

/// Wraps a request's body unless it is empty already (GETs).
pub fn wrap(body: Body) -> Body {
    if body.is_end_stream() {
        body
    } else {
        Body::new(DrainOnDrop {
            inner: Some(body),
            done: false,
        })
    }
}

impl HttpBody for DrainOnDrop {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let r = Pin::new(inner).poll_frame(cx);
        if matches!(r, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.done = true;
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map(|b| b.size_hint())
            .unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if self.done || body.is_end_stream() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = tokio::time::timeout(DRAIN_TIME, drain(body)).await;
            });
        }
    }
}

async fn drain(mut body: Body) {
    let mut seen = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(d) = frame.data_ref() {
            seen += d.len();
            if seen > DRAIN_BYTES {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_body_reads_through_and_empty_bodies_are_not_wrapped() {
        let b = wrap(Body::from("hello"));
        let got = b.collect().await.unwrap().to_bytes();
        assert_eq!(&got[..], b"hello");
        let e = wrap(Body::empty());
        assert!(e.is_end_stream());
    }

    #[tokio::test]
    async fn an_unread_body_is_drained_in_the_background() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let body = wrap(Body::new(http_body_util::StreamBody::new(stream)));
        drop(body);
        // The drain task keeps reading: sends do not block once it runs.
        for _ in 0..16 {
            tokio::time::timeout(
                Duration::from_secs(5),
                tx.send(Ok(Frame::data(Bytes::from_static(b"xxxx")))),
            )
            .await
            .expect("the body is drained")
            .expect("the receiver is alive");
        }
    }
}
