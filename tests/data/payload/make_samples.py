#!/usr/bin/python3
"""Makes the payload test files (tests/data/payload/*) and the sample messages
(samples/payload/*.eml), each small and made here from scratch.

Run from the project root: /usr/bin/python3 tests/data/payload/make_samples.py
The outputs are committed; the script says how each was made.
"""
import base64
import io
import os
import struct
import zipfile
import zlib
from email.message import EmailMessage
from email.policy import SMTP

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DATA = os.path.join(ROOT, "tests", "data", "payload")
SAMPLES = os.path.join(ROOT, "samples", "payload")


def tiny_pe():
    """A DOS header whose e_lfanew points at a PE signature and a minimal COFF header."""
    dos = bytearray(b"MZ" + b"\0" * 0x3e)
    struct.pack_into("<I", dos, 0x3c, 0x40)
    coff = b"PE\0\0" + struct.pack("<HHIIIHH", 0x14c, 0, 0, 0, 0, 0xe0, 0x102)
    return bytes(dos) + coff + b"\0" * 0xe0


def tiny_elf():
    return b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HHI", 2, 0x3e, 1) + b"\0" * 40


def tiny_lnk():
    """The shell link header: size 0x4c and the LinkCLSID."""
    clsid = bytes.fromhex("0114020000000000c000000000000046")
    return struct.pack("<I", 0x4c) + clsid + b"\0" * (0x4c - 20)


def ole_with_vba():
    """An OLE2 header, then directory entries: Root Entry, a VBA storage, _VBA_PROJECT."""
    header = bytearray(512)
    header[0:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    struct.pack_into("<HHH", header, 0x18, 0x3e, 3, 0xfffe)
    struct.pack_into("<H", header, 0x1e, 9)

    def entry(name, kind):
        raw = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        raw[0:len(encoded)] = encoded
        struct.pack_into("<HB", raw, 64, len(encoded), kind)
        return bytes(raw)

    return bytes(header) + entry("Root Entry", 5) + entry("Macros", 1) + entry("VBA", 1) + \
        entry("_VBA_PROJECT", 2)


def ole_without_vba():
    data = bytearray(ole_with_vba())
    for offset in range(512, len(data), 128):
        data[offset] = ord("X")  # renames every entry
    return bytes(data)


def zip_bytes(members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def ooxml(with_macro):
    members = [("[Content_Types].xml", b"<?xml version='1.0'?><Types/>"),
               ("word/document.xml", b"<w:document/>")]
    if with_macro:
        members.append(("word/vbaProject.bin", ole_with_vba()))
    return zip_bytes(members)


def encrypted_zip():
    """A zip whose entry has the encryption flag (general purpose bit 0) set, as
    ZipCrypto archives have; the data is not really encrypted."""
    data = bytearray(zip_bytes([("payload.exe", tiny_pe())], zipfile.ZIP_STORED))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            flags = struct.unpack_from("<H", data, start + flag_offset)[0]
            struct.pack_into("<H", data, start + flag_offset, flags | 1)
            start += 4
    return bytes(data)


def terabyte_zip():
    """A Zip64 archive whose one entry declares 1 TiB uncompressed (it holds 5 bytes)."""
    name = b"huge.bin"
    content = b"hello"
    crc = zlib.crc32(content)
    claimed = 1 << 40
    extra = struct.pack("<HHQQ", 1, 16, claimed, len(content))
    local = struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0, crc,
                        0xffffffff, 0xffffffff, len(name), len(extra)) + name + extra + content
    central_extra = struct.pack("<HHQQ", 1, 16, claimed, len(content))
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0, crc,
                          0xffffffff, 0xffffffff, len(name), len(central_extra), 0, 0, 0, 0,
                          0) + name + central_extra
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def bomb_zip():
    """20 MiB of zeros deflated into about 20 KiB."""
    return zip_bytes([("zeros.bin", b"\0" * (20 << 20))])


def nested_zip(levels):
    data = zip_bytes([("setup.exe", tiny_pe())])
    for level in range(levels):
        data = zip_bytes([("level%d.zip" % level, data)])
    return data


SMUGGLING_HTML = b"""<!DOCTYPE html><html><body><p>Loading your document...</p>
<script>
var data = atob("UEsDBAoAAAAAAA==");
var bytes = new Uint8Array(data.length);
for (var i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i);
var file = new Blob([bytes], {type: "application/zip"});
var link = document.createElement("a");
link.href = window.URL.createObjectURL(file);
link.download = "invoice.zip";
link.click();
</script></body></html>
"""

PLAIN_HTML = b"<html><body><p>Minutes of the meeting.</p></body></html>\n"


def write(path, data):
    with open(path, "wb") as out:
        out.write(data)


def message(name, subject, text=None, html=None, attachments=()):
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Sender <sender@sender.test>"
    msg["To"] = "staff@example.com"
    msg["Subject"] = subject
    msg["Date"] = "Fri, 04 Dec 2026 10:00:00 +0000"
    msg["Message-ID"] = "<%s@sender.test>" % name
    msg.set_content(text or "See the attachment.\n")
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, maintype, subtype, content in attachments:
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    write(os.path.join(SAMPLES, name + ".eml"), msg.as_bytes())


def link_samples():
    message("url-text-mismatch", "Your account",
            html="<p>Sign in at <a href=\"https://secure-login.evil.test/x\">"
                 "https://www.example.com/signin</a></p>")
    message("url-ip-literal", "Invoice", text="Download it from http://192.0.2.7/invoice now.\n")
    message("url-numeric-host", "Invoice", html="<a href=\"http://3221225991/inv\">invoice</a>")
    message("url-userinfo", "Security notice",
            text="Confirm at https://www.example.com@login.evil.test/confirm\n")
    message("url-lookalike", "Password expiry",
            html="<a href=\"https://portal.exarnple.com/reset\">reset your password</a>")
    message("url-lookalike-idn", "Password expiry",
            text="Reset at https://\u0435xample.com/reset today.\n")
    message("url-backslash", "Shared file", text="Open http:\\\\files.evil.test\\share\n")
    message("uribl-listed", "Cheap pills", text="Buy now at http://pills.listed.test/buy\n")


def attachment_samples():
    pe = tiny_pe()
    message("attach-double-extension", "Invoice",
            attachments=[("invoice.pdf.exe", "application", "octet-stream", pe)])
    message("attach-executable-renamed", "Scan",
            attachments=[("scan.jpg", "image", "jpeg", pe)])
    message("attach-elf", "Tool", attachments=[("tool", "application", "octet-stream",
                                                tiny_elf())])
    message("attach-script-js", "Payment", attachments=[("payment.js", "application",
                                                         "javascript", b"WScript.Echo(1);\n")])
    message("attach-script-vbs", "Order", attachments=[("order.vbs", "text", "plain",
                                                        b"MsgBox \"hi\"\n")])
    message("attach-shortcut-lnk", "Documents", attachments=[("documents.lnk", "application",
                                                              "octet-stream", tiny_lnk())])
    message("attach-disk-image", "Delivery", attachments=[("delivery.iso", "application",
                                                           "octet-stream", b"\0" * 2048)])
    message("attach-html-smuggling", "Voicemail", attachments=[("voicemail.html", "text",
                                                                "html", SMUGGLING_HTML)])
    message("attach-ooxml-macro", "Budget",
            attachments=[("budget.docx", "application", "octet-stream", ooxml(True))])
    message("attach-ole-macro", "Budget",
            attachments=[("budget.doc", "application", "msword", ole_with_vba())])
    message("attach-zip-encrypted", "Protected",
            attachments=[("protected.zip", "application", "zip", encrypted_zip())])
    message("attach-zip-dangerous-member", "Photos",
            attachments=[("photos.zip", "application", "zip",
                          zip_bytes([("photo1.jpg.scr", tiny_pe())]))])
    message("attach-zip-bomb", "Archive",
            attachments=[("archive.zip", "application", "zip", bomb_zip())])
    message("attach-zip-terabyte", "Backup",
            attachments=[("backup.zip", "application", "zip", terabyte_zip())])
    message("attach-zip-too-deep", "Nested",
            attachments=[("nested.zip", "application", "zip", nested_zip(4))])
    message("attach-type-mismatch", "Report",
            attachments=[("report.pdf", "application", "pdf", b"GIF89a" + b"\0" * 64)])


def mime_samples():
    head = "From: sender@sender.test\r\nTo: staff@example.com\r\nSubject: nested\r\n"
    tail = ""
    for level in range(50):
        boundary = "level-%d-x" % level
        head += "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n" % (boundary,
                                                                                   boundary)
        tail = "--%s--\r\n" % boundary + tail
    write(os.path.join(SAMPLES, "mime-nested-50.eml"),
          (head + "Content-Type: text/plain\r\n\r\ndeep\r\n" + tail).encode())
    write(os.path.join(SAMPLES, "mime-malformed-base64.eml"),
          b"From: sender@sender.test\r\nTo: staff@example.com\r\nSubject: b64\r\n"
          b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
          b"SGVsbG8g!!d29y\r\nbGQ\r\n")
    write(os.path.join(SAMPLES, "mime-unknown-charset.eml"),
          b"From: sender@sender.test\r\nTo: staff@example.com\r\nSubject: charset\r\n"
          b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\ncaf\xe9\r\n")


def test_files():
    files = {
        "tiny.exe": tiny_pe(),
        "tiny.elf": tiny_elf(),
        "tiny.lnk": tiny_lnk(),
        "vba.ole": ole_with_vba(),
        "novba.ole": ole_without_vba(),
        "macro.docx": ooxml(True),
        "plain.docx": ooxml(False),
        "encrypted.zip": encrypted_zip(),
        "terabyte.zip": terabyte_zip(),
        "bomb.zip": bomb_zip(),
        "nested4.zip": nested_zip(4),
        "nested2.zip": nested_zip(2),
        "smuggling.html": SMUGGLING_HTML,
        "plain.html": PLAIN_HTML,
    }
    for name, data in files.items():
        write(os.path.join(DATA, name), data)


if __name__ == "__main__":
    os.makedirs(SAMPLES, exist_ok=True)
    test_files()
    link_samples()
    attachment_samples()
    mime_samples()
