// The MIME walk over whole messages: decoding, names, charsets, limits, and the corrections
// made around mimetic.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relaygate/mime.hpp"

using relaygate::mime::Limits;
using relaygate::mime::Part;
using relaygate::mime::walk;
using relaygate::mime::WalkResult;

namespace {

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// A message with `levels` multiparts nested one in the other around one text part.
std::string nested_multiparts(std::size_t levels)
{
    std::string head = "From: a@example.test\r\nSubject: nest\r\n";
    std::string tail;
    for (std::size_t i = 0; i < levels; ++i) {
        std::string boundary = "b" + std::to_string(i) + "x";
        head += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n--" +
                boundary + "\r\n";
        tail = "--" + boundary + "--\r\n" + tail;
    }
    return head + "Content-Type: text/plain\r\n\r\ndeep\r\n" + tail;
}

bool has_line_starting(const std::vector<std::string>& lines, std::string_view prefix)
{
    for (const auto& line : lines) {
        if (line.substr(0, prefix.size()) == prefix) return true;
    }
    return false;
}

const std::string kMixed =
    "From: a@example.test\r\n"
    "Subject: invoice\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Voil=E0 la facture, caf=E9 =\r\n"
    "compris.\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf; name=\"=?UTF-8?B?ZmFjdHVyZS5wZGY=?=\"\r\n"
    "Content-Disposition: attachment;\r\n"
    "\tfilename*0*=UTF-8''r%C3%A9sum%C3%A9;\r\n"
    "\tfilename*1=\".pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

}  // namespace

TEST_CASE("walk decodes quoted-printable text to UTF-8 and base64 attachments to bytes",
          "[mime]")
{
    WalkResult result = walk(kMixed);
    REQUIRE(result.parts.size() == 2);
    const Part& text = result.parts[0];
    CHECK(text.content_type == "text/plain");
    CHECK(text.charset == "iso-8859-1");
    CHECK(text.depth == 1);
    CHECK(text.text == "Voil\xc3\xa0 la facture, caf\xc3\xa9 compris.");
    CHECK_FALSE(text.is_attachment);

    const Part& pdf = result.parts[1];
    CHECK(pdf.content_type == "application/pdf");
    CHECK(pdf.transfer_encoding == "base64");
    CHECK(pdf.decoded == "%PDF-1.4\n");
    CHECK(pdf.text.empty());
    CHECK(pdf.is_attachment);
    CHECK(result.defects.empty());
    CHECK(result.limits.empty());
}

TEST_CASE("walk takes the RFC 2231 file name of the disposition over the Content-Type name",
          "[mime]")
{
    WalkResult result = walk(kMixed);
    REQUIRE(result.parts.size() == 2);
    CHECK(result.parts[1].filename == "r\xc3\xa9sum\xc3\xa9.pdf");
    CHECK(result.parts[1].disposition == "attachment");
}

TEST_CASE("walk decodes RFC 2047 encoded words in a name parameter", "[mime]")
{
    const std::string message =
        "Content-Type: application/octet-stream;\r\n"
        " name=\"=?ISO-8859-1?Q?r=E9sum=E9=2Eexe?=\"\r\n"
        "\r\n"
        "MZ\r\n";
    WalkResult result = walk(message);
    REQUIRE(result.parts.size() == 1);
    CHECK(result.parts[0].filename == "r\xc3\xa9sum\xc3\xa9.exe");
    CHECK(result.parts[0].is_attachment);
    CHECK(result.parts[0].depth == 0);
}

TEST_CASE("a text part in a charset that does not exist is a defect and still gets text",
          "[mime]")
{
    const std::string message =
        "Content-Type: text/plain; charset=x-no-such-charset-42\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "caf\xe9 cr\xe8me\r\n";
    WalkResult result = walk(message);
    REQUIRE(result.parts.size() == 1);
    CHECK(result.parts[0].text == "caf\xc3\xa9 cr\xc3\xa8me\r\n");
    CHECK(has_line_starting(result.defects, "part 1: unknown charset \"x-no-such-charset-42\""));
}

TEST_CASE("a declared charset is converted: shift_jis, koi8-r and utf-16 text", "[mime]")
{
    struct Row {
        const char* charset;
        std::string bytes;
        const char* want;
    };
    const Row rows[] = {
        {"shift_jis", "\x93\xfa\x96\x7b", "\xe6\x97\xa5\xe6\x9c\xac"},
        {"koi8-r", "\xd0\xd2\xc9\xd7\xc5\xd4", "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
        {"utf-16le", std::string("h\0i\0", 4), "hi"},
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.charset)
        {
            std::string message = std::string("Content-Type: text/plain; charset=\"") +
                                  row.charset + "\"\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
                                  row.bytes;
            WalkResult result = walk(message);
            REQUIRE(result.parts.size() == 1);
            CHECK(result.parts[0].text == row.want);
            CHECK(result.defects.empty());
        }
    }
}

TEST_CASE("malformed base64 in a part is a defect and is decoded as far as possible", "[mime]")
{
    const std::string message =
        "Content-Type: text/plain\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "SGVsbG8g!!d29y\r\nbGQ\r\n";
    WalkResult result = walk(message);
    REQUIRE(result.parts.size() == 1);
    CHECK(result.parts[0].text == "Hello world");
    CHECK(has_line_starting(result.defects, "part 1: malformed base64"));
}

TEST_CASE("a boundary string inside a line does not split a part (mimetic's random-access "
          "parser would)", "[mime]")
{
    const std::string message =
        "Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
        "--zz\r\nContent-Type: text/plain\r\n\r\nsee --zz here\r\n"
        "--zz\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--zz--\r\n";
    WalkResult result = walk(message);
    REQUIRE(result.parts.size() == 2);
    CHECK(result.parts[0].text == "see --zz here");
    CHECK(result.parts[1].text == "second");
}

TEST_CASE("parts after an inner multipart that is never closed are still walked (mimetic "
          "drops them)", "[mime]")
{
    const std::string message =
        "Content-Type: multipart/mixed; boundary=\"A\"\r\n\r\n"
        "--A\r\nContent-Type: multipart/alternative; boundary=\"B\"\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        "--A\r\nContent-Type: application/x-msdownload; name=\"evil.exe\"\r\n\r\nMZ\r\n"
        "--A--\r\n";
    WalkResult result = walk(message);
    REQUIRE(result.parts.size() == 2);
    CHECK(result.parts[0].text == "hello");
    CHECK(result.parts[0].depth == 2);
    CHECK(result.parts[1].filename == "evil.exe");
    CHECK(result.parts[1].depth == 1);
    CHECK(has_line_starting(result.defects, "multipart boundary \"B\" is not closed"));
}

TEST_CASE("a message/rfc822 part is walked into one level deeper", "[mime]")
{
    const std::string message =
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
        "--m\r\nContent-Type: text/plain\r\n\r\nouter\r\n"
        "--m\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: inner@example.test\r\nContent-Type: multipart/alternative; boundary=\"i\"\r\n\r\n"
        "--i\r\nContent-Type: text/html\r\n\r\n<p>inner</p>\r\n--i--\r\n"
        "--m--\r\n";
    WalkResult result = walk(message);
    REQUIRE(result.parts.size() == 2);
    CHECK(result.parts[0].depth == 1);
    CHECK(result.parts[1].content_type == "text/html");
    CHECK(result.parts[1].text == "<p>inner</p>");
    CHECK(result.parts[1].depth == 3);
}

TEST_CASE("a 50-level nested multipart is a depth limit, and the levels above it are walked",
          "[mime]")
{
    std::string message = nested_multiparts(50);
    message.insert(message.rfind("--b5x--"),
                   "--b5x\r\nContent-Type: text/plain\r\n\r\nshallow\r\n");
    WalkResult result = walk(message);
    CHECK(has_line_starting(result.limits, "MIME depth exceeds 20"));
    REQUIRE(result.parts.size() == 1);
    CHECK(result.parts[0].text == "shallow");
    CHECK(result.parts[0].depth == 6);
}

TEST_CASE("a 50,000-level nested multipart is a limit, not a crash, in bounded time", "[mime]")
{
    std::string message = nested_multiparts(50000);
    auto start = std::chrono::steady_clock::now();
    WalkResult result = walk(message);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(has_line_starting(result.limits, "MIME depth exceeds 20"));
    CHECK(result.parts.empty());
    CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("a raised depth limit still cannot make mimetic recurse past its guard", "[mime]")
{
    Limits limits;
    limits.max_depth = 1000000;
    limits.max_parts = 1000000;
    WalkResult result = walk(nested_multiparts(50000), limits);
    CHECK(has_line_starting(result.limits, "MIME text has more than 5000 Content-Type fields"));
}

TEST_CASE("more parts than the limit are left out and reported", "[mime]")
{
    std::string message = "Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n";
    for (int i = 0; i < 700; ++i) message += "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n";
    message += "--p--\r\n";
    WalkResult result = walk(message);
    CHECK(has_line_starting(result.limits, "MIME parts exceed 500"));
    CHECK(result.parts.size() == 499);  // the multipart itself is one of the 500
}

TEST_CASE("decoded bytes beyond the limit are cut and reported", "[mime]")
{
    Limits limits;
    limits.max_decoded_bytes = 10;
    std::string message = "Content-Type: multipart/mixed; boundary=\"d\"\r\n\r\n"
                          "--d\r\n\r\n0123456789abcdef\r\n--d\r\n\r\nmore\r\n--d--\r\n";
    WalkResult result = walk(message, limits);
    REQUIRE(result.parts.size() == 2);
    CHECK(result.parts[0].decoded == "0123456789");
    CHECK(result.parts[1].decoded.empty());
    CHECK(result.limits == std::vector<std::string>{"decoded MIME parts exceed 10 bytes"});
}

TEST_CASE("a header field of megabytes is cut before mimetic copies it quadratically", "[mime]")
{
    std::string message = "Subject: " + std::string(4u << 20, 'x') + "\r\n" +
                          "Content-Type: text/plain\r\n\r\nbody\r\n";
    auto start = std::chrono::steady_clock::now();
    WalkResult result = walk(message);
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(result.parts.size() == 1);
    CHECK(result.parts[0].text == "body\r\n");
    CHECK(has_line_starting(result.defects, "a header field exceeds 8192 bytes"));
    CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("LF-only messages walk like CRLF ones", "[mime]")
{
    std::string lf = kMixed;
    for (std::size_t pos; (pos = lf.find("\r\n")) != std::string::npos;) lf.erase(pos, 1);
    WalkResult result = walk(lf);
    REQUIRE(result.parts.size() == 2);
    CHECK(result.parts[0].text == "Voil\xc3\xa0 la facture, caf\xc3\xa9 compris.");
    CHECK(result.parts[1].decoded == "%PDF-1.4\n");
}

TEST_CASE("every shared MIME fixture walks without a crash and within the limits", "[mime]")
{
    const std::filesystem::path root = std::filesystem::path(RELAYGATE_TESTDATA) / "mime";
    REQUIRE(std::filesystem::is_directory(root));
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        DYNAMIC_SECTION(entry.path().filename().string())
        {
            std::string raw = read_file(entry.path());
            WalkResult result = walk(raw);
            Limits limits;
            CHECK(result.parts.size() <= limits.max_parts);
            for (const Part& part : result.parts) CHECK(part.depth <= limits.max_depth);
        }
        ++files;
    }
    CHECK(files > 100);
}

TEST_CASE("the 1 MB HTML fixture that blows naive parsers walks to its HTML part", "[mime]")
{
    const auto path = std::filesystem::path(RELAYGATE_TESTDATA) / "mime/mailparser" /
                      "htmllargecallstack.eml";
    WalkResult result = walk(read_file(path));
    bool has_html = false;
    for (const Part& part : result.parts) {
        if (part.content_type == "text/html" && part.text.size() > 100000) has_html = true;
    }
    CHECK(has_html);
}
