//! The commands a client session waits for replies to, as one enum: what each is called in errors, which deadline
//! guards its reply, and whether a reply accepts it. Which code handles the reply is the session's reply table
//! (`ClientSession::on_reply`), one arm per variant.

use crate::error::{Error, Phase, Rejection};
use crate::reply::Reply;

/// A command whose reply is awaited. The variant alone decides how the reply is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// Not a command: the server's greeting.
    Greeting,
    /// EHLO (LHLO for LMTP).
    Ehlo,
    /// HELO, after EHLO was refused with 500/502.
    Helo,
    StartTls,
    /// AUTH, or a SASL response line of its exchange.
    Auth,
    /// `*`: we abandoned the SASL exchange.
    AuthCancel,
    /// MAIL of `ClientSession::mail`: its 250 opens the transaction the session keeps for `rcpt` and `data`.
    Mail,
    /// RCPT of `ClientSession::rcpt`: its 250/251 adds a recipient to that transaction.
    Rcpt,
    /// RSET of `ClientSession::rset`: its 250 ends that transaction.
    Rset,
    Noop,
    Vrfy,
    Quit,
    /// A raw command (`ClientSession::command`): any reply completes it.
    Raw,
    /// A command written by a transaction (`send_mail`, `data`): its reply goes to that transaction.
    Tx(TxCommand),
}

/// The commands a transaction writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxCommand {
    Mail,
    /// RCPT for the recipient at this index of the transaction.
    Rcpt(usize),
    /// DATA, waiting for 354.
    Data,
    /// The end of the message: the final dot, or `BDAT n LAST` (LMTP: one reply per accepted recipient).
    End,
    /// A BDAT chunk that is not the last one.
    Bdat,
    /// The dot that ends an empty message after a pipelined DATA got 354 although no recipient was accepted.
    DiscardDot,
    /// RSET after a failure, so the server forgets the transaction.
    Rset,
}

impl Command {
    /// The command as errors name it ([`Rejection::command`]): the one table of command names.
    pub(crate) fn name(self, lmtp: bool) -> &'static str {
        match self {
            Command::Greeting => "greeting",
            Command::Ehlo if lmtp => "LHLO",
            Command::Ehlo => "EHLO",
            Command::Helo => "HELO",
            Command::StartTls => "STARTTLS",
            Command::Auth | Command::AuthCancel => "AUTH",
            Command::Mail | Command::Tx(TxCommand::Mail) => "MAIL FROM",
            Command::Rcpt | Command::Tx(TxCommand::Rcpt(_)) => "RCPT TO",
            Command::Tx(TxCommand::Data | TxCommand::End | TxCommand::DiscardDot) => "DATA",
            Command::Tx(TxCommand::Bdat) => "BDAT",
            Command::Rset | Command::Tx(TxCommand::Rset) => "RSET",
            Command::Noop => "NOOP",
            Command::Vrfy => "VRFY",
            Command::Quit => "QUIT",
            Command::Raw => "command",
        }
    }

    /// What the session is doing while it waits for this command's reply: names the deadline (and a timeout).
    pub(crate) fn phase(self) -> Phase {
        match self {
            Command::Greeting => Phase::Greeting,
            Command::Ehlo | Command::Helo => Phase::Hello,
            Command::StartTls => Phase::StartTls,
            Command::Auth | Command::AuthCancel => Phase::Auth,
            Command::Mail | Command::Tx(TxCommand::Mail) => Phase::Mail,
            Command::Rcpt | Command::Tx(TxCommand::Rcpt(_)) => Phase::Rcpt,
            Command::Tx(TxCommand::Data) => Phase::DataInit,
            Command::Tx(TxCommand::End | TxCommand::DiscardDot) => Phase::DataEnd,
            Command::Tx(TxCommand::Bdat) => Phase::Bdat,
            Command::Rset | Command::Tx(TxCommand::Rset) => Phase::Rset,
            Command::Noop => Phase::Noop,
            Command::Vrfy => Phase::Vrfy,
            Command::Quit => Phase::Quit,
            Command::Raw => Phase::Command,
        }
    }

    /// The refusal of this command with `reply`.
    pub(crate) fn refused(self, reply: Reply) -> Error {
        Error::Rejected(Rejection {
            command: self.name(false).into(),
            reply,
        })
    }

    /// A 2xx accepts the command; anything else refuses it.
    pub(crate) fn judge(self, reply: Reply) -> Result<Reply, Error> {
        if reply.is_positive_completion() {
            Ok(reply)
        } else {
            Err(self.refused(reply))
        }
    }
}
