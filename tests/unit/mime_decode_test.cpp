// Transfer decodings and header parameters of the MIME walk.
#include <catch2/catch.hpp>

#include "mime/decode.hpp"
#include "mime/params.hpp"

using namespace relaygate::mime::detail;

namespace {
constexpr std::size_t kNoLimit = std::size_t(1) << 30;
}

TEST_CASE("base64 decodes across line breaks and ignores whitespace", "[mime]")
{
    Decoded decoded = decode_base64("SGVs\r\nbG8g\r\n d29y bGQ=\r\n", kNoLimit);
    CHECK(decoded.bytes == "Hello world");
    CHECK_FALSE(decoded.malformed);
}

TEST_CASE("malformed base64 is reported and decoded as far as it goes", "[mime]")
{
    struct Row {
        const char* input;
        const char* want;
    };
    const Row rows[] = {
        {"SGVsbG8*#gd29ybGQ=", "Hello world"},  // foreign characters skipped
        {"SGVsbG8gd29ybGQ", "Hello world"},     // missing padding
        {"SGVsbG8gd29ybG", "Hello worl"},       // truncated group of 2 characters
        {"SGVsbA==SGVsbA==", "HellHell"},       // a second blob after padding
        {"S", ""},                              // a lone character carries no byte
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.input)
        {
            Decoded decoded = decode_base64(row.input, kNoLimit);
            CHECK(decoded.bytes == row.want);
            if (std::string_view(row.input) != "SGVsbA==SGVsbA==") CHECK(decoded.malformed);
        }
    }
}

TEST_CASE("base64 decoding stops at the byte budget", "[mime]")
{
    Decoded decoded = decode_base64("QUFBQUFBQUFBQUFB", 6);
    CHECK(decoded.bytes == "AAAAAA");
    CHECK(decoded.truncated);
}

TEST_CASE("quoted-printable removes soft breaks and decodes escapes of either case", "[mime]")
{
    Decoded decoded = decode_quoted_printable("caf=C3=a9 =\r\nau lait=20\r\nfin", kNoLimit);
    CHECK(decoded.bytes == "caf\xc3\xa9 au lait \r\nfin");
    CHECK_FALSE(decoded.malformed);
}

TEST_CASE("quoted-printable keeps a broken escape literally and reports it", "[mime]")
{
    Decoded decoded = decode_quoted_printable("100=ZZ percent=4", kNoLimit);
    CHECK(decoded.bytes == "100=ZZ percent=4");
    CHECK(decoded.malformed);
}

TEST_CASE("utf-8 validation rejects overlongs, surrogates and truncated sequences", "[mime]")
{
    CHECK(is_valid_utf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong "/"
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
    CHECK_FALSE(is_valid_utf8("caf\xe9"));           // latin-1
}

TEST_CASE("header values keep quoted semicolons inside parameters", "[mime]")
{
    std::vector<std::string> defects;
    HeaderValue value = parse_header_value(
        " Application/PDF (a comment); NAME=\"a;b \\\"x\\\".pdf\"; charset=utf-8", defects);
    CHECK(value.value == "application/pdf");
    CHECK(value.params["name"] == "a;b \"x\".pdf");
    CHECK(value.params["charset"] == "utf-8");
    CHECK(defects.empty());
}

TEST_CASE("RFC 2231 extended values are percent-decoded and converted from their charset",
          "[mime]")
{
    std::vector<std::string> defects;
    HeaderValue value =
        parse_header_value("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", defects);
    CHECK(value.params["filename"] == "r\xc3\xa9sum\xc3\xa9.pdf");

    value = parse_header_value("attachment; filename*=iso-8859-1'fr'caf%E9.txt", defects);
    CHECK(value.params["filename"] == "caf\xc3\xa9.txt");
    CHECK(defects.empty());
}

TEST_CASE("RFC 2231 continuations are joined in index order whatever order they come in",
          "[mime]")
{
    std::vector<std::string> defects;
    HeaderValue value = parse_header_value(
        "attachment; filename*1=\"ice.pdf\"; filename*0*=UTF-8''inv%C3%B6; "
        "filename*2*=%2Eexe; filename=\"fallback.pdf\"", defects);
    CHECK(value.params["filename"] == "inv\xc3\xb6ice.pdf.exe");
    CHECK(defects.empty());
}

TEST_CASE("a gap in RFC 2231 continuations is a defect and keeps the sections before it",
          "[mime]")
{
    std::vector<std::string> defects;
    HeaderValue value = parse_header_value("attachment; name*0=a; name*2=c", defects);
    CHECK(value.params["name"] == "a");
    REQUIRE(defects.size() == 1);
    CHECK(defects[0] == "parameter name has a gap in its continuations");
}

TEST_CASE("an unterminated quoted parameter is a defect, not a failure", "[mime]")
{
    std::vector<std::string> defects;
    HeaderValue value = parse_header_value("text/plain; name=\"open.txt", defects);
    CHECK(value.params["name"] == "open.txt");
    CHECK(defects.size() == 1);
}
