// Tests of decode_encoded_words and to_utf8.

#include <catch2/catch.hpp>

#include "relaygate/message.hpp"

#include <string>
#include <thread>
#include <vector>

using relaygate::decode_encoded_words;
using relaygate::to_utf8;

TEST_CASE("B and Q encoded words decode to UTF-8 from their charsets", "[message]")
{
    struct Case {
        const char* input;
        const char* want;
    };
    const Case cases[] = {
        // Q with "_" for space and =XX bytes, Latin-1
        {"=?iso-8859-1?Q?Re:_Multimedia_f=FCr_Preussen?=", "Re: Multimedia f\xC3\xBCr Preussen"},
        // lowercase q and b
        {"=?utf-8?q?caf=C3=A9?=", "caf\xC3\xA9"},
        {"=?UTF-8?B?4pyU?=", "\xE2\x9C\x94"},
        // base64 without padding
        {"=?utf-8?B?w6k?=", "\xC3\xA9"},
        // GB2312 (SpamAssassin nice_cjk_gb2312.2)
        {"=?GB2312?Q?=D7=B0=D3=B2=B5=FA=CE=CA=CC=E2?=",
         "\xE8\xA3\x85\xE7\xA1\xAC\xE7\xA2\x9F\xE9\x97\xAE\xE9\xA2\x98"},
        // KOI8-R
        {"=?koi8-r?B?8NLJ18XU?=", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"},
        // ISO-2022-JP, a stateful charset
        {"=?ISO-2022-JP?B?GyRCJEYkOSRIGyhC?=", "\xE3\x81\xA6\xE3\x81\x99\xE3\x81\xA8"},
        // RFC 2231 language suffix
        {"=?utf-8*en?Q?hello_world?=", "hello world"},
        // text around words is kept, with its spaces
        {"[tag] =?utf-8?Q?a?= and =?utf-8?Q?b?= end", "[tag] a and b end"},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.input) { CHECK(decode_encoded_words(c.input) == c.want); }
    }
}

TEST_CASE("whitespace between adjacent encoded words is dropped, other text is kept",
          "[message]")
{
    CHECK(decode_encoded_words("=?utf-8?Q?a?= =?utf-8?Q?b?=") == "ab");
    CHECK(decode_encoded_words("=?utf-8?Q?a?=\r\n\t =?iso-8859-1?Q?b?=") == "ab");
    CHECK(decode_encoded_words("=?utf-8?Q?a?= x =?utf-8?Q?b?=") == "a x b");
    CHECK(decode_encoded_words("=?utf-8?Q?a_?= =?utf-8?Q?_b?=") == "a  b");
}

TEST_CASE("a UTF-8 character split across two encoded words is joined before conversion",
          "[message]")
{
    // U+00E9 is C3 A9; each word alone is invalid UTF-8.
    CHECK(decode_encoded_words("=?utf-8?B?w6?= =?utf-8?Q?=A9?=") == "\xC3\xA9");
    CHECK(decode_encoded_words("=?utf-8?Q?=C3?= =?utf-8?Q?=A9?=") == "\xC3\xA9");
}

TEST_CASE("malformed encoded words are left as written", "[message]")
{
    const char* malformed[] = {
        "=?utf-8?X?abc?=",          // unknown encoding
        "=?utf-8?B?a$b?=",          // not base64
        "=?utf-8?Q?no end",         // unterminated
        "=??Q?empty_charset?=",     // no charset
        "=?utf-8?Q?has space?=",    // whitespace inside
        "=?",                       // cut short
        "plain text, no words",
    };
    for (const char* input : malformed) {
        DYNAMIC_SECTION(input) { CHECK(decode_encoded_words(input) == input); }
    }
}

TEST_CASE("invalid UTF-8 outside encoded words is left as it is", "[message]")
{
    std::string raw = "8bit \xFF\xFE caf\xE9";
    CHECK(decode_encoded_words(raw) == raw);
}

TEST_CASE("to_utf8 replaces what it cannot convert and never throws", "[message]")
{
    // invalid UTF-8 declared as UTF-8: each bad byte becomes U+FFFD
    CHECK(to_utf8("a\xFF" "b", "utf-8") == "a\xEF\xBF\xBD" "b");
    // overlong encoding of "/" is invalid
    CHECK(to_utf8("\xC0\xAF", "UTF-8") == "\xEF\xBF\xBD\xEF\xBF\xBD");
    // Latin-1 labels are read as windows-1252 (0x80 is the euro sign), as browsers do
    CHECK(to_utf8("\x80", "iso-8859-1") == "\xE2\x82\xAC");
    // unknown charset: valid UTF-8 is kept, anything else read as Latin-1
    CHECK(to_utf8("caf\xC3\xA9", "x-no-such-charset") == "caf\xC3\xA9");
    CHECK(to_utf8("caf\xE9", "x-no-such-charset") == "caf\xC3\xA9");
    // a charset name that tries to smuggle iconv options is not passed to iconv
    CHECK(to_utf8("caf\xE9", "latin2//TRANSLIT") == "caf\xC3\xA9");
    // a multi-byte sequence cut off at the end
    CHECK(to_utf8("a\x81", "shift_jis") == "a\xEF\xBF\xBD");
}

TEST_CASE("to_utf8 gives the same answers from several threads at once", "[message]")
{
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &failures] {
            for (int i = 0; i < 2000; ++i) {
                if (to_utf8("f\xFCr", i % 2 ? "iso-8859-15" : "latin1") != "f\xC3\xBCr")
                    ++failures[t];
                if (to_utf8("\x1B$B$F$9$H\x1B(B", "iso-2022-jp") !=
                    "\xE3\x81\xA6\xE3\x81\x99\xE3\x81\xA8")
                    ++failures[t];
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    CHECK(failures == std::vector<int>(4, 0));
}
