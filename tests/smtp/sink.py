#!/usr/bin/python3
"""A configurable SMTP server for relaygate's delivery tests (aiosmtpd, 127.0.0.1 only).

Each message the server acknowledges with 250 after DATA is written to OUT/N.eml (the bytes
received, dot-unstuffed) with OUT/N.json beside it (envelope, TLS, login). Recipients whose
local part starts with "reject" get 550 and with "defer" get 450, in every mode.

Modes (--mode):
  accept                          accept everything
  tempfail-mail / permfail-mail   451 / 550 to MAIL FROM
  tempfail-rcpt / permfail-rcpt   450 / 550 to every RCPT TO
  tempfail-data / permfail-data   451 / 554 after the message was received
  stall-data                      354, then never read the body or reply
  stall-final                     read the whole body, then never reply
  close-greeting                  close on connect, before any greeting
  close-ehlo, close-mail, close-rcpt, close-data
                                  close instead of answering that command
  close-body                      354, read a few lines, then close
  close-final                     read the whole body, then close without replying
The server exits by itself after --lifetime seconds.
"""

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

LOCALHOST = "127.0.0.1"
STALL_SECONDS = 3600


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", default="accept")
    parser.add_argument("--out", required=True, help="directory for received messages")
    parser.add_argument("--cert", help="PEM certificate: offer STARTTLS (or implicit TLS)")
    parser.add_argument("--key", help="PEM private key for --cert")
    parser.add_argument("--implicit-tls", action="store_true", help="smtps: TLS from the start")
    parser.add_argument("--require-tls", action="store_true", help="refuse MAIL before STARTTLS")
    parser.add_argument("--auth", help="USER:PASSWORD required before MAIL")
    parser.add_argument("--lifetime", type=float, default=120)
    return parser.parse_args()


class Recorder:
    """The aiosmtpd handler: per-recipient answers and the written messages."""

    def __init__(self, args):
        self.args = args
        self.count = 0

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.args.mode == "tempfail-mail":
            return "451 4.3.0 try again later"
        if self.args.mode == "permfail-mail":
            return "550 5.7.1 sender refused"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        local = address.split("@")[0].lower()
        if self.args.mode == "tempfail-rcpt" or local.startswith("defer"):
            return "450 4.2.1 mailbox busy, try later"
        if self.args.mode == "permfail-rcpt" or local.startswith("reject"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        mode = self.args.mode
        if mode == "stall-final":
            await asyncio.sleep(STALL_SECONDS)
        if mode == "close-final":
            server.transport.close()
            return "250 never sent"
        if mode == "tempfail-data":
            return "451 4.3.0 queue full"
        if mode == "permfail-data":
            return "554 5.6.0 content refused"
        self.count += 1
        base = os.path.join(self.args.out, str(self.count))
        with open(base + ".eml", "wb") as out:
            out.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": session.auth_data.login.decode() if session.auth_data else None,
        }
        with open(base + ".json", "w") as out:
            json.dump(meta, out)
        return "250 2.0.0 Ok: queued as Q%d" % self.count


class SinkSMTP(SMTP):
    """aiosmtpd's SMTP with the failure modes that handler hooks cannot express."""

    mode = "accept"

    async def _close_if(self, mode):
        if self.mode == mode:
            self.transport.close()
            return True
        return False

    async def smtp_EHLO(self, arg):
        if not await self._close_if("close-ehlo"):
            await super().smtp_EHLO(arg)

    async def smtp_MAIL(self, arg):
        if not await self._close_if("close-mail"):
            await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        if not await self._close_if("close-rcpt"):
            await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg):
        if await self._close_if("close-data"):
            return
        if self.mode in ("stall-data", "close-body") and self.envelope.rcpt_tos:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            if self.mode == "stall-data":
                await asyncio.sleep(STALL_SECONDS)
            for _ in range(3):
                await self._reader.readline()
            self.transport.close()
            return
        await super().smtp_DATA(arg)


def tls_context(args):
    if not args.cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    return context


def authenticator(expected):
    user, password = expected.split(":", 1)

    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return check


async def close_at_once(reader, writer):
    writer.close()


async def serve(args):
    loop = asyncio.get_running_loop()
    if args.mode == "close-greeting":
        server = await asyncio.start_server(close_at_once, LOCALHOST, args.port)
    else:
        handler = Recorder(args)
        context = tls_context(args)
        SinkSMTP.mode = args.mode

        def factory():
            kwargs = dict(hostname="sink.test", decode_data=False,
                          enable_SMTPUTF8=True, loop=loop)
            if context and not args.implicit_tls:
                kwargs.update(tls_context=context, require_starttls=args.require_tls)
            if args.auth:
                kwargs.update(auth_required=True, authenticator=authenticator(args.auth),
                              auth_require_tls=True)
            return SinkSMTP(handler, **kwargs)

        ssl_arg = context if args.implicit_tls else None
        server = await loop.create_server(factory, LOCALHOST, args.port, ssl=ssl_arg)
    async with server:
        await asyncio.sleep(args.lifetime)


def main():
    args = parse_args()
    # aiosmtpd 1.4 warns about its own use of Session.login_data on every AUTH, and about
    # the body lines a close-body session leaves unread; the tests read the files instead.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.disable(logging.WARNING)
    os.makedirs(args.out, exist_ok=True)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
