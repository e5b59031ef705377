//! One mail transaction: MAIL, RCPT..., then the message through DATA or BDAT, pipelined when the server allows.
//!
//! The transaction is a value the session drives: [`Transaction::advance`] writes whatever may be written now. The
//! replies to its commands ([`TxCommand`]) are handled in the session's reply table, which records each in the
//! transaction through the `*_answered` methods here and then advances it. It finishes only when every reply it waits
//! for has come, so the next operation never sees a stray reply.

use std::collections::VecDeque;

use crate::client::command::{Command, TxCommand};
use crate::client::event::{Completion, RecipientOutcome, TransactionReport};
use crate::client::options::Envelope;
use crate::client::params::{encode_mail, encode_rcpt, BodyAgreement, EncodedLine};
use crate::codec::bdat::BdatEncoder;
use crate::codec::body::DataEncoder;
use crate::codec::ehlo::Capabilities;
use crate::error::Error;
use crate::reply::Reply;

/// Where a command's reply stands.
#[derive(Debug, Clone)]
enum Status {
    Pending,
    Accepted(Reply),
    Refused(Error),
}

#[derive(Debug, Clone)]
struct Recipient {
    address: String,
    line: Option<EncodedLine>,
    at_rcpt: Status,
    /// LMTP only: the reply after the message.
    after_message: Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// MAIL and RCPT being written or answered.
    Envelope,
    /// DATA written, waiting for 354.
    AwaitDataInit,
    /// Message content may be written.
    Body,
    /// The end of the message was written; waiting for the last replies.
    Final,
}

#[derive(Debug, Clone)]
enum Encoder {
    Data(DataEncoder),
    Bdat(BdatEncoder),
}

/// The error for content given after the end of the message.
fn finished_error() -> Error {
    Error::Usage("the message content was already finished".into())
}

/// What the session must do for the transaction.
#[derive(Debug)]
pub(crate) enum Output {
    /// Bytes to send, and the transcript text for them when they are a command.
    Write(Vec<u8>, Option<String>),
    /// A reply is now expected for this command, after every reply expected so far.
    Expect(TxCommand),
    /// A reply is expected for this command next, before any other (LMTP's further per-recipient replies).
    ExpectNext(TxCommand),
    /// The server is ready for the message content.
    BodyReady,
}

/// What the transaction asks of the session after a step.
#[derive(Debug)]
pub(crate) enum Flow {
    /// Still going.
    Continue,
    /// Finished with this result.
    Complete(Result<Completion, Error>),
    /// The connection must be closed: content was refused mid-DATA and only a close makes the server discard it.
    Fatal(Error),
}

/// A transaction in progress.
#[derive(Debug)]
pub(crate) struct Transaction {
    /// The MAIL line, present for a whole transaction (`send_mail`); absent for `data` after `mail`/`rcpt`.
    mail_line: Option<EncodedLine>,
    mail_line_sent: bool,
    /// The refusal of this transaction's MAIL, once refused (an accepted MAIL needs no record: it opens the
    /// transaction on the server, `server_open`).
    mail_refusal: Option<Error>,
    recipients: Vec<Recipient>,
    lmtp: bool,
    pipelining: bool,
    use_bdat: bool,
    stage: Stage,
    rcpts_written: usize,
    data_written: bool,
    encoder: Option<Encoder>,
    /// Content given before the transaction started.
    raw_pending: Vec<u8>,
    /// Encoded content that may not be sent yet (DATA before 354, or BDAT chunks waiting in lock-step).
    held: VecDeque<(Vec<u8>, bool)>,
    finish_requested: bool,
    terminator_written: bool,
    outstanding: usize,
    failure: Option<Error>,
    fatal: Option<Error>,
    final_reply: Option<Reply>,
    lmtp_cursor: usize,
    /// The server holds an open transaction (MAIL accepted, no final reply yet): a failure needs RSET.
    server_open: bool,
    rset_written: bool,
    /// Whether this is a whole transaction (report) or `data` (reply or per-recipient list).
    whole: bool,
    out: Vec<Output>,
}

/// A reply to one of a transaction's commands, as the reply table judged it (a value rather than a closure per
/// command, so the code that drives a transaction exists once in the wasm, not once per command).
pub(crate) enum Answer {
    /// MAIL's verdict.
    Mail(Result<Reply, Error>),
    /// The verdict on the RCPT of recipient `index`.
    Rcpt(usize, Result<Reply, Error>),
    /// The reply to DATA.
    Data(Reply),
    /// The verdict on a BDAT chunk that is not the last.
    Bdat(Result<Reply, Error>),
    /// The reply to the end of the message.
    End(Reply),
    /// The reply to RSET or to a discarded message.
    ServerClosed,
}

impl Transaction {
    /// A whole transaction from an envelope; the lines are encoded when it starts.
    pub(crate) fn whole(envelope: Envelope) -> PendingTransaction {
        PendingTransaction {
            envelope: Some(envelope),
            recipients: Vec::new(),
            agreement: None,
            raw: Vec::new(),
            finish: false,
            abort: None,
        }
    }

    /// The message part of a transaction opened with `mail` and `rcpt`.
    pub(crate) fn data_only(
        recipients: Vec<(String, Reply)>,
        agreement: Option<BodyAgreement>,
    ) -> PendingTransaction {
        PendingTransaction {
            envelope: None,
            recipients,
            agreement,
            raw: Vec::new(),
            finish: false,
            abort: None,
        }
    }
}

/// A transaction waiting for its turn: it only collects content.
#[derive(Debug)]
pub(crate) struct PendingTransaction {
    envelope: Option<Envelope>,
    /// For `data`: the recipients the server accepted earlier, with its reply to each RCPT.
    recipients: Vec<(String, Reply)>,
    /// For `data`: what MAIL agreed (`None` when there was no accepted MAIL).
    agreement: Option<BodyAgreement>,
    raw: Vec<u8>,
    finish: bool,
    abort: Option<String>,
}

/// Settings the transaction takes from the session when it starts.
pub(crate) struct StartContext<'a> {
    pub capabilities: &'a Capabilities,
    pub tls: bool,
    pub lmtp: bool,
    pub prefer_chunking: bool,
    pub bdat_chunk_size: usize,
}

impl PendingTransaction {
    /// Content given before the transaction started; kept raw until the body agreement is known.
    pub(crate) fn push_content(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.finish {
            return Err(finished_error());
        }
        self.raw.extend_from_slice(bytes);
        Ok(())
    }

    /// Bytes held.
    pub(crate) fn buffered(&self) -> usize {
        self.raw.len()
    }

    /// Whether this is a whole transaction (`send_mail`), as opposed to the message of one opened with `mail`.
    pub(crate) fn is_whole(&self) -> bool {
        self.envelope.is_some()
    }

    /// The caller ended the content before the transaction started.
    pub(crate) fn finish_requested(&mut self) {
        self.finish = true;
    }

    /// Whether the content was ended.
    pub(crate) fn finish_was_requested(&self) -> bool {
        self.finish
    }

    /// The caller abandoned the content before the transaction started.
    pub(crate) fn abort(&mut self, why: String) {
        self.abort.get_or_insert(why);
    }

    /// Why the content was abandoned, if it was.
    pub(crate) fn abort_reason(&self) -> Option<String> {
        self.abort.clone()
    }

    /// For `data`: the recipients and body agreement of the transaction opened with `mail`/`rcpt`.
    pub(crate) fn with_open_transaction(
        mut self,
        recipients: Vec<(String, Reply)>,
        agreement: Option<BodyAgreement>,
    ) -> Self {
        if self.envelope.is_none() {
            self.recipients = recipients;
            self.agreement = agreement;
        }
        self
    }

    /// Encodes the lines against the server's capabilities. An error means nothing is written.
    pub(crate) fn start(self, context: &StartContext<'_>) -> Result<Transaction, Error> {
        let capabilities = context.capabilities;
        let pipelining = capabilities.has("PIPELINING");
        let chunking = capabilities.has("CHUNKING");
        let (mail_line, agreement, recipients, whole) = match self.envelope {
            Some(envelope) => {
                if envelope.to.is_empty() {
                    return Err(Error::Usage("a transaction needs at least one recipient".into()));
                }
                let (line, agreement) =
                    encode_mail(&envelope.from, &envelope.mail_options, capabilities, context.tls)?;
                let mut recipients = Vec::with_capacity(envelope.to.len());
                for to in envelope.to {
                    let line = encode_rcpt(&to, &envelope.rcpt_options, capabilities, agreement.smtp_utf8)?;
                    recipients.push(Recipient {
                        address: to,
                        line: Some(line),
                        at_rcpt: Status::Pending,
                        after_message: Status::Pending,
                    });
                }
                (Some(line), agreement, recipients, true)
            }
            None => {
                let recipients = self
                    .recipients
                    .into_iter()
                    .map(|(address, reply)| Recipient {
                        address,
                        line: None,
                        // The server's own reply to that earlier RCPT.
                        at_rcpt: Status::Accepted(reply),
                        after_message: Status::Pending,
                    })
                    .collect();
                (None, self.agreement.unwrap_or_default(), recipients, false)
            }
        };
        let mail_open = mail_line.is_none() && self.agreement.is_some();
        // BDAT when the server offers CHUNKING and we prefer it (BINARYMIME always needs it); only inside an open
        // transaction, since BDAT without MAIL would push content at a server that will refuse it anyway.
        let use_bdat = chunking
            && (mail_line.is_some() || mail_open)
            && (context.prefer_chunking || agreement.binary)
            // Without PIPELINING every BDAT chunk costs a round trip; DATA is cheaper then, unless BINARYMIME.
            && (pipelining || agreement.binary);
        let encoder = if use_bdat {
            Encoder::Bdat(BdatEncoder::new(
                context.bdat_chunk_size,
                agreement.binary,
                agreement.allow_8bit,
            ))
        } else {
            Encoder::Data(DataEncoder::new(agreement.allow_8bit))
        };
        let mut transaction = Transaction {
            mail_refusal: None,
            mail_line,
            mail_line_sent: false,
            recipients,
            lmtp: context.lmtp,
            pipelining,
            use_bdat,
            stage: Stage::Envelope,
            rcpts_written: 0,
            data_written: false,
            encoder: Some(encoder),
            raw_pending: self.raw,
            held: VecDeque::new(),
            finish_requested: false,
            terminator_written: false,
            outstanding: 0,
            failure: None,
            fatal: None,
            final_reply: None,
            lmtp_cursor: 0,
            server_open: mail_open,
            rset_written: false,
            whole,
            out: Vec::new(),
        };
        if !whole {
            transaction.rcpts_written = transaction.recipients.len();
        }
        Ok(transaction)
    }
}

impl Transaction {
    /// Takes what the session must do.
    pub(crate) fn take_output(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// Bytes held back (not yet handed to the session for sending).
    pub(crate) fn buffered(&self) -> usize {
        self.raw_pending.len() + self.held.iter().map(|(bytes, _)| bytes.len()).sum::<usize>()
    }

    /// Whether the message content is being accepted now (for the data-block timeout).
    pub(crate) fn in_body(&self) -> bool {
        self.stage == Stage::Body
    }

    /// Whether only the reply to the end of the message is outstanding: nothing more will be written for this
    /// transaction, so the next one may start (pipelining across transactions, RFC 2920).
    pub(crate) fn only_final_reply_outstanding(&self) -> bool {
        self.stage == Stage::Final
            && self.terminator_written
            && self.held.is_empty()
            && self.outstanding == 1
            && self.failure.is_none()
            && self.fatal.is_none()
    }

    /// Whether the caller has ended the content.
    pub(crate) fn content_finished(&self) -> bool {
        self.finish_requested
    }

    fn write(&mut self, bytes: Vec<u8>, text: Option<String>) {
        self.out.push(Output::Write(bytes, text));
    }

    fn await_reply(&mut self, command: TxCommand) {
        self.outstanding += 1;
        self.out.push(Output::Expect(command));
    }

    fn any_accepted(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| matches!(r.at_rcpt, Status::Accepted(_)))
    }

    fn all_rcpt_answered(&self) -> bool {
        self.recipients
            .iter()
            .all(|r| !matches!(r.at_rcpt, Status::Pending))
    }

    /// Why the envelope failed, if it did: MAIL refused, or every recipient refused.
    fn envelope_error(&self) -> Option<Error> {
        if let Some(error) = &self.mail_refusal {
            return Some(error.clone());
        }
        if self.all_rcpt_answered() && !self.any_accepted() {
            return self.recipients.iter().find_map(|r| match &r.at_rcpt {
                Status::Refused(error) => Some(error.clone()),
                _ => None,
            });
        }
        None
    }

    fn fail(&mut self, error: Error) {
        if self.failure.is_none() {
            self.failure = Some(error);
        }
    }

    /// Message content from the caller.
    pub(crate) fn push_content(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.finish_requested {
            return Err(finished_error());
        }
        self.encode_content(bytes);
        Ok(())
    }

    /// Encodes content and holds it until it may be sent.
    fn encode_content(&mut self, bytes: &[u8]) {
        if self.failure.is_some() || self.fatal.is_some() {
            return; // already failed: the content goes nowhere, the completion says why
        }
        let mut encoded = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 16);
        let result = match self.encoder.as_mut() {
            Some(Encoder::Data(encoder)) => encoder.encode(bytes, &mut encoded).map(|()| 0),
            Some(Encoder::Bdat(encoder)) => encoder.encode(bytes, &mut encoded),
            None => Ok(0),
        };
        match result {
            Err(error) => {
                if self.data_written && !self.use_bdat {
                    // DATA is open (or about to be): only closing the connection keeps the server from delivering
                    // a truncated message.
                    self.fatal = Some(error.into());
                } else {
                    self.fail(error.into());
                }
            }
            Ok(_) if encoded.is_empty() => {}
            Ok(_) if self.use_bdat => self.queue_bdat(encoded),
            Ok(_) => self.held.push_back((encoded, false)),
        }
    }

    /// Splits encoder output into its `BDAT n` commands so each can be sent (and answered) on its own.
    fn queue_bdat(&mut self, mut encoded: Vec<u8>) {
        while !encoded.is_empty() {
            let header_end = encoded
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(encoded.len(), |at| at + 2);
            let header = String::from_utf8_lossy(&encoded[..header_end]).into_owned();
            let size: usize = header
                .split_ascii_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let last = header.trim_end().ends_with("LAST");
            let end = header_end.saturating_add(size).min(encoded.len());
            let rest = encoded.split_off(end);
            self.held.push_back((encoded, last));
            encoded = rest;
        }
    }

    /// The caller ended the content.
    pub(crate) fn finish_content(&mut self) {
        self.finish_requested = true;
    }

    /// The caller abandoned the content (its source failed).
    pub(crate) fn abort(&mut self, why: String) {
        if self.terminator_written && !self.held.iter().any(|(_, last)| *last) {
            // The end of the message is already on the wire (the dot, or `BDAT n LAST`): it cannot be taken back,
            // so the server's reply decides; reporting `Aborted` ("not sent") would invite a duplicate.
            return;
        }
        if self.data_written && !self.use_bdat && !self.terminator_written {
            self.fatal = Some(Error::Aborted(why));
        } else {
            self.fail(Error::Aborted(why));
        }
    }

    /// Writes whatever may be written now, and says whether the transaction is over.
    pub(crate) fn advance(&mut self) -> Flow {
        // Content refused or abandoned in the middle of DATA: the connection must go.
        if let Some(fatal) = self.fatal.take() {
            return Flow::Fatal(fatal);
        }
        if self.failure.is_some() {
            return self.unwind();
        }
        loop {
            match self.stage {
                Stage::Envelope => {
                    if let Some(line) = self.mail_line.clone().filter(|_| !self.mail_line_sent) {
                        self.mail_line_sent = true;
                        self.write(line.bytes, Some(line.text));
                        self.await_reply(TxCommand::Mail);
                    }
                    while self.rcpts_written < self.recipients.len() {
                        if !self.pipelining && self.outstanding > 0 {
                            return Flow::Continue;
                        }
                        let index = self.rcpts_written;
                        if let Some(line) = self.recipients[index].line.clone() {
                            self.write(line.bytes, Some(line.text));
                            self.await_reply(TxCommand::Rcpt(index));
                        }
                        self.rcpts_written += 1;
                    }
                    if !self.pipelining && self.outstanding > 0 {
                        return Flow::Continue;
                    }
                    if !self.pipelining || !self.whole {
                        // Lock-step: every reply is in, so we know whether anyone accepted.
                        if let Some(error) = self.envelope_error() {
                            self.fail(error);
                            return self.unwind();
                        }
                    }
                    if self.use_bdat {
                        self.stage = Stage::Body;
                        self.out.push(Output::BodyReady);
                        let raw = std::mem::take(&mut self.raw_pending);
                        if !raw.is_empty() {
                            self.encode_content(&raw);
                            if self.failure.is_some() {
                                return self.unwind();
                            }
                        }
                        continue;
                    }
                    // DATA mode: content given so far is encoded now and held until 354.
                    let raw = std::mem::take(&mut self.raw_pending);
                    if !raw.is_empty() {
                        self.encode_content(&raw);
                        if self.failure.is_some() {
                            return self.unwind();
                        }
                    }
                    self.data_written = true;
                    self.write(b"DATA\r\n".to_vec(), Some("DATA".into()));
                    self.await_reply(TxCommand::Data);
                    self.stage = Stage::AwaitDataInit;
                    return Flow::Continue;
                }
                Stage::AwaitDataInit => return Flow::Continue,
                Stage::Body | Stage::Final => {
                    self.release_held();
                    if self.finish_requested && !self.terminator_written {
                        self.write_terminator();
                        self.release_held();
                    }
                    if self.stage == Stage::Final && self.outstanding == 0 && self.held.is_empty() {
                        return self.complete();
                    }
                    return Flow::Continue;
                }
            }
        }
    }

    /// Sends held content that may go now: everything in DATA mode after 354 and with pipelined BDAT; one chunk at a
    /// time in lock-step BDAT.
    fn release_held(&mut self) {
        while let Some((bytes, last)) = self.held.pop_front() {
            if !self.use_bdat {
                self.write(bytes, None);
                continue;
            }
            if !self.pipelining && self.outstanding > 0 {
                self.held.push_front((bytes, last));
                return;
            }
            let text = bytes
                .split(|&b| b == b'\r')
                .next()
                .map(|header| String::from_utf8_lossy(header).into_owned());
            self.write(bytes, text);
            if last {
                self.await_reply(TxCommand::End);
            } else {
                self.await_reply(TxCommand::Bdat);
            }
        }
    }

    fn write_terminator(&mut self) {
        let mut end = Vec::new();
        match self.encoder.as_mut() {
            Some(Encoder::Data(encoder)) => {
                encoder.finish(&mut end);
                self.terminator_written = true;
                self.stage = Stage::Final;
                self.write(end, Some(".".into()));
                self.await_reply(TxCommand::End);
            }
            Some(Encoder::Bdat(encoder)) => {
                encoder.finish(&mut end);
                self.terminator_written = true;
                self.stage = Stage::Final;
                self.queue_bdat(end);
            }
            None => {}
        }
    }

    /// After a failure: wait for every outstanding reply, RSET if the server still holds the transaction, then report.
    fn unwind(&mut self) -> Flow {
        if self.outstanding > 0 {
            return Flow::Continue;
        }
        if self.server_open && !self.rset_written {
            self.rset_written = true;
            self.write(b"RSET\r\n".to_vec(), Some("RSET".into()));
            self.await_reply(TxCommand::Rset);
            return Flow::Continue;
        }
        let error = self
            .failure
            .clone()
            .unwrap_or_else(|| Error::Aborted("transaction failed".into()));
        Flow::Complete(Err(error))
    }

    /// A reply to one of this transaction's commands arrived (the reply table records what it said next).
    pub(crate) fn reply_arrived(&mut self) {
        self.outstanding = self.outstanding.saturating_sub(1);
    }

    /// Records what the reply table made of a reply to one of this transaction's commands.
    pub(crate) fn record(&mut self, answer: Answer) {
        match answer {
            Answer::Mail(verdict) => self.mail_answered(verdict),
            Answer::Rcpt(index, verdict) => self.rcpt_answered(index, verdict),
            Answer::Data(reply) => self.data_answered(reply),
            Answer::Bdat(verdict) => self.bdat_answered(verdict),
            Answer::End(reply) => self.end_answered(reply),
            Answer::ServerClosed => self.server_closed(),
        }
    }

    /// MAIL's verdict: accepted opens the transaction on the server; refused fails this transaction.
    fn mail_answered(&mut self, verdict: Result<Reply, Error>) {
        match verdict {
            Ok(_) => self.server_open = true,
            Err(error) => {
                self.mail_refusal = Some(error.clone());
                self.fail(error);
            }
        }
    }

    /// The verdict on the RCPT of recipient `index`.
    fn rcpt_answered(&mut self, index: usize, verdict: Result<Reply, Error>) {
        if let Some(recipient) = self.recipients.get_mut(index) {
            recipient.at_rcpt = match verdict {
                Ok(reply) => Status::Accepted(reply),
                Err(error) => Status::Refused(error),
            };
        }
    }

    /// The reply to DATA: 354 lets the content go, anything else fails the transaction.
    fn data_answered(&mut self, reply: Reply) {
        if reply.code() != 354 {
            let error = self
                .envelope_error()
                .unwrap_or_else(|| Command::Tx(TxCommand::Data).refused(reply));
            self.fail(error);
            return;
        }
        if let Some(error) = self.failure.clone().or_else(|| self.envelope_error()) {
            // RFC 2920 section 3.1: DATA was pipelined and accepted although no recipient was; end the (empty)
            // message at once. The server refuses it for lack of recipients.
            self.fail(error);
            self.held.clear();
            self.write(b".\r\n".to_vec(), Some(".".into()));
            if !self.lmtp || self.any_accepted() {
                self.await_reply(TxCommand::DiscardDot);
            }
            self.server_open = false;
        } else {
            self.stage = Stage::Body;
            self.out.push(Output::BodyReady);
        }
    }

    /// The verdict on a BDAT chunk that is not the last: a refusal fails the transaction.
    fn bdat_answered(&mut self, verdict: Result<Reply, Error>) {
        if let Err(refusal) = verdict {
            let error = self.envelope_error().unwrap_or(refusal);
            self.fail(error);
        }
    }

    /// The reply to a RSET or to a discarded message: the server holds no transaction any more.
    fn server_closed(&mut self) {
        self.server_open = false;
    }

    /// The reply to the end of the message (one of several in LMTP).
    fn end_answered(&mut self, reply: Reply) {
        let end = Command::Tx(if self.use_bdat {
            TxCommand::Bdat
        } else {
            TxCommand::End
        });
        if !self.lmtp || !self.any_accepted() {
            self.server_open = false;
            if reply.is_positive_completion() {
                self.final_reply = Some(reply);
            } else {
                let error = self.envelope_error().unwrap_or_else(|| end.refused(reply));
                self.fail(error);
            }
            return;
        }
        // LMTP (RFC 2033 section 4.2): one reply per accepted recipient, in RCPT order.
        let accepted: Vec<usize> = self
            .recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.at_rcpt, Status::Accepted(_)))
            .map(|(i, _)| i)
            .collect();
        if let Some(&index) = accepted.get(self.lmtp_cursor) {
            let status = if reply.is_positive_completion() {
                Status::Accepted(reply)
            } else {
                Status::Refused(end.refused(reply))
            };
            self.recipients[index].after_message = status;
        }
        self.lmtp_cursor += 1;
        if self.lmtp_cursor < accepted.len() {
            // More per-recipient replies follow; expect the next one before anything else.
            self.outstanding += 1;
            self.out.push(Output::ExpectNext(TxCommand::End));
        } else {
            self.server_open = false;
        }
    }

    fn complete(&mut self) -> Flow {
        let mut outcomes = Vec::with_capacity(self.recipients.len());
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        let mut first_lmtp_reply = None;
        let mut first_lmtp_error = None;
        for recipient in &self.recipients {
            let result = match (&recipient.at_rcpt, &recipient.after_message, self.lmtp) {
                (Status::Refused(error), _, _) => Err(error.clone()),
                (Status::Accepted(reply), _, false) => Ok(reply.clone()),
                (Status::Accepted(_), Status::Accepted(reply), true) => {
                    first_lmtp_reply.get_or_insert_with(|| reply.clone());
                    Ok(reply.clone())
                }
                (Status::Accepted(_), Status::Refused(error), true) => {
                    first_lmtp_error.get_or_insert_with(|| error.clone());
                    Err(error.clone())
                }
                _ => Err(Error::Protocol("no reply for this recipient".into())),
            };
            match &result {
                Ok(_) => accepted.push(recipient.address.clone()),
                Err(error) => rejected.push((recipient.address.clone(), error.clone())),
            }
            outcomes.push(RecipientOutcome {
                recipient: recipient.address.clone(),
                result,
            });
        }
        if !self.whole {
            return Flow::Complete(Ok(match (self.lmtp, self.final_reply.take()) {
                (true, _) => Completion::Recipients(outcomes),
                (false, Some(reply)) => Completion::Reply(reply),
                (false, None) => Completion::Done,
            }));
        }
        let reply = if self.lmtp {
            first_lmtp_reply
        } else {
            self.final_reply.take()
        };
        match reply {
            Some(reply) if !accepted.is_empty() => {
                Flow::Complete(Ok(Completion::Transaction(TransactionReport {
                    accepted,
                    rejected,
                    reply,
                    recipients: outcomes,
                })))
            }
            _ => Flow::Complete(Err(first_lmtp_error
                .or_else(|| rejected.first().map(|(_, e)| e.clone()))
                .unwrap_or_else(|| {
                    Error::Protocol("the message was not accepted for any recipient".into())
                }))),
        }
    }
}
