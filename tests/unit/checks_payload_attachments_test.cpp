// The payload layer's attachments: kinds by content and name, Office macros, HTML smuggling
// and archives, on files made by tests/data/payload/make_samples.py.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checks/payload_attachments.hpp"

using namespace relaygate;
using namespace relaygate::checks;

namespace {

std::string data_file(const std::string& name)
{
    std::ifstream in(std::filesystem::path(RELAYGATE_SOURCE_DIR) / "tests/data/payload" / name,
                     std::ios::binary);
    REQUIRE(in);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

mime::Part attachment(const std::string& filename, const std::string& content_type,
                      std::string bytes)
{
    mime::Part part;
    part.filename = filename;
    part.content_type = content_type;
    part.disposition = "attachment";
    part.is_attachment = true;
    part.decoded = std::move(bytes);
    return part;
}

std::vector<Finding> findings_for(const mime::Part& part, const Policy& policy = Policy{})
{
    mime::WalkResult walk;
    walk.parts.push_back(part);
    std::vector<Finding> findings;
    check_attachments(walk, policy, findings);
    return findings;
}

std::vector<std::string> ids_for(const mime::Part& part, const Policy& policy = Policy{})
{
    std::vector<std::string> ids;
    for (const auto& finding : findings_for(part, policy)) ids.push_back(finding.id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

using Ids = std::vector<std::string>;

}  // namespace

TEST_CASE("libmagic reads executables and archives from their content", "[checks]")
{
    std::string exe = sniff_type(data_file("tiny.exe"));
    CHECK((exe == "application/x-dosexec" ||
           exe == "application/vnd.microsoft.portable-executable"));
    CHECK(sniff_type(data_file("nested2.zip")) == "application/zip");
    CHECK(sniff_type("%PDF-1.4\n") == "application/pdf");
}

TEST_CASE("a program is found by its content whatever its name", "[checks]")
{
    CHECK(ids_for(attachment("scan.jpg", "image/jpeg", data_file("tiny.exe"))) ==
          Ids{"attachment_executable", "attachment_type_mismatch"});
    CHECK(ids_for(attachment("tool", "application/octet-stream", data_file("tiny.elf"))) ==
          Ids{"attachment_executable"});
}

TEST_CASE("a double extension hiding a program is its own finding", "[checks]")
{
    CHECK(ids_for(attachment("invoice.pdf.exe", "application/octet-stream",
                             data_file("tiny.exe"))) ==
          Ids{"attachment_double_extension", "attachment_executable"});
    CHECK(ids_for(attachment("report.doc      .js", "text/plain", "x")) ==
          Ids{"attachment_double_extension", "attachment_script"});
}

TEST_CASE("scripts, shortcuts and disk images are found by name and content", "[checks]")
{
    struct Row {
        const char* name;
        std::string bytes;
        const char* id;
    };
    const Row rows[] = {
        {"pay.js", "WScript.Echo(1)", "attachment_script"},
        {"a.vbs", "MsgBox 1", "attachment_script"},
        {"run.ps1", "Get-Item", "attachment_script"},
        {"x.bat", "@echo off", "attachment_script"},
        {"x.hta", "<hta:application>", "attachment_script"},
        {"x.wsf", "<job>", "attachment_script"},
        {"Invoice.LNK", data_file("tiny.lnk"), "attachment_shortcut"},
        {"shortcut", data_file("tiny.lnk"), "attachment_shortcut"},  // content only
        {"site.url", "[InternetShortcut]", "attachment_shortcut"},
        {"disk.iso", std::string(4096, '\0'), "attachment_disk_image"},
        {"disk.vhd", "x", "attachment_disk_image"},
        {"footer", "conectix" + std::string(504, '\0'), "attachment_disk_image"},
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.name)
        {
            Ids ids = ids_for(attachment(row.name, "application/octet-stream", row.bytes));
            CHECK(std::find(ids.begin(), ids.end(), row.id) != ids.end());
        }
    }
}

TEST_CASE("Office macros are found in OOXML and OLE documents, and only there", "[checks]")
{
    CHECK(ids_for(attachment("budget.docx", "application/octet-stream",
                             data_file("macro.docx"))) == Ids{"attachment_macro"});
    CHECK(ids_for(attachment("plain.docx", "application/octet-stream",
                             data_file("plain.docx"))).empty());
    CHECK(ole_has_vba(data_file("vba.ole")));
    CHECK_FALSE(ole_has_vba(data_file("novba.ole")));
    CHECK(ids_for(attachment("budget.xlsm", "application/octet-stream", "x")) ==
          Ids{"attachment_macro"});
}

TEST_CASE("the SpamAssassin macro documents are told apart from the one without macros",
          "[checks]")
{
    // Their attachments are decoded here from the shared fixtures' base64 by the walk.
    const auto folder = std::filesystem::path(RELAYGATE_TESTDATA) / "mime/spamassassin";
    auto macro_found = [&](const char* file) {
        std::ifstream in(folder / file, std::ios::binary);
        std::ostringstream raw;
        raw << in.rdbuf();
        mime::WalkResult walk = mime::walk(raw.str());
        std::vector<Finding> findings;
        check_attachments(walk, Policy{}, findings);
        return std::any_of(findings.begin(), findings.end(),
                           [](const Finding& f) { return f.id == "attachment_macro"; });
    };
    CHECK(macro_found("spam_olevbmacro_macro.eml"));
    CHECK(macro_found("spam_olevbmacro_malicemacro.eml"));
    CHECK_FALSE(macro_found("spam_olevbmacro_nomacro.eml"));
}

TEST_CASE("HTML that assembles a download is smuggling; ordinary HTML is not", "[checks]")
{
    CHECK(html_smuggles(data_file("smuggling.html")));
    CHECK(html_smuggles("<a href=\"data:application/zip;base64,UEsDBA==\" download=\"a.zip\">"));
    CHECK(html_smuggles("<script>navigator.msSaveOrOpenBlob(b, 'a.iso')</script>"));
    CHECK_FALSE(html_smuggles(data_file("plain.html")));
    CHECK(ids_for(attachment("voicemail.html", "text/html", data_file("smuggling.html"))) ==
          Ids{"attachment_html_smuggling"});
}

TEST_CASE("an archive with a program inside is a dangerous member", "[checks]")
{
    auto findings = findings_for(attachment("nested.zip", "application/zip",
                                            data_file("nested2.zip")));
    REQUIRE(findings.size() >= 1);
    CHECK(findings[0].id == "archive_dangerous_member");
    CHECK(findings[0].detail.find("setup.exe") != std::string::npos);
}

TEST_CASE("archives nested deeper than max_archive_depth are a finding", "[checks]")
{
    CHECK(ids_for(attachment("nested.zip", "application/zip", data_file("nested4.zip"))) ==
          Ids{"archive_too_deep"});
    Policy deeper;
    deeper.payload.max_archive_depth = 5;
    CHECK(ids_for(attachment("nested.zip", "application/zip", data_file("nested4.zip")),
                  deeper) == Ids{"archive_dangerous_member"});
}

TEST_CASE("encrypted archive entries are a finding and their names are still checked",
          "[checks]")
{
    CHECK(ids_for(attachment("protected.zip", "application/zip", data_file("encrypted.zip"))) ==
          Ids{"archive_dangerous_member", "archive_encrypted"});
}

TEST_CASE("a zip whose entry claims a terabyte is a bomb and nothing is allocated for it",
          "[checks]")
{
    auto findings = findings_for(attachment("backup.zip", "application/zip",
                                            data_file("terabyte.zip")));
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "archive_bomb");
    CHECK(findings[0].detail == "backup.zip > huge.bin declares 1099511627776 bytes");
}

TEST_CASE("a zip that inflates a hundredfold past the member bound is a bomb", "[checks]")
{
    CHECK(ids_for(attachment("archive.zip", "application/zip", data_file("bomb.zip"))) ==
          Ids{"archive_bomb"});
}

TEST_CASE("garbage that claims to be a zip is unreadable, not a crash", "[checks]")
{
    std::string bytes = data_file("nested2.zip");
    bytes.resize(bytes.size() / 2);
    auto ids = ids_for(attachment("broken.zip", "application/zip", bytes));
    CHECK(std::find(ids.begin(), ids.end(), "archive_unreadable") != ids.end());
}

namespace {

// Writes the archives of the bomb tests with Python's zipfile (deflate) or gzip, once per
// test process: each argument after the folder is "FILE MEMBER SIZE zeros|random|hex ...";
// a FILE ending in .gz is a gzip stream of its one member.
const char* const kMakeArchives = R"(
import gzip, os, sys, zipfile

def fill(member, size, kind):
    left = size
    while left > 0:
        n = min(left, 1 << 20)
        if kind == "zeros":
            member.write(bytes(n))
        elif kind == "random":
            member.write(os.urandom(n))
        else:
            member.write(os.urandom(n // 2 + 1).hex()[:n].encode())
        left -= n

folder = sys.argv[1]
for line in sys.argv[2:]:
    words = line.split()
    path = os.path.join(folder, words[0])
    if path.endswith(".gz"):
        with gzip.open(path, "wb") as member:
            fill(member, int(words[2]), words[3])
        continue
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(1, len(words), 3):
            with archive.open(words[i], "w", force_zip64=True) as member:
                fill(member, int(words[i + 1]), words[i + 2])
)";

constexpr std::uint64_t kMiB = 1u << 20;

// The generated archives, removed with the test process's last static.
class GeneratedZips {
public:
    static GeneratedZips& instance()
    {
        static GeneratedZips zips;
        return zips;
    }

    ~GeneratedZips() { std::filesystem::remove_all(folder_); }

    std::string read(const std::string& name) const
    {
        std::ifstream in(folder_ / name, std::ios::binary);
        REQUIRE(in);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

    bool made() const { return made_; }

private:
    GeneratedZips()
        : folder_(std::filesystem::temp_directory_path() /
                  ("relaygate-bombs-" + std::to_string(::getpid())))
    {
        std::filesystem::create_directories(folder_);
        std::ofstream(folder_ / "make.py") << kMakeArchives;
        std::string many = "many.zip";
        for (int i = 0; i < 30; ++i) {
            many += " part" + std::to_string(i) + ".bin " + std::to_string(kMiB) + " zeros";
        }
        const std::vector<std::string> specs = {
            "z180.zip zeros.bin " + std::to_string(180 * kMiB) + " zeros",
            "z200.zip zeros.bin " + std::to_string(200 * kMiB) + " zeros",
            "z1g.zip zeros.bin " + std::to_string(1024 * kMiB) + " zeros",
            "random.zip random.bin " + std::to_string(2 * kMiB) + " random",
            "hex.zip dump.txt " + std::to_string(20 * kMiB) + " hex",
            "mixed.zip a.bin " + std::to_string(3 * kMiB) + " random zeros.bin " +
                std::to_string(100 * kMiB) + " zeros b.bin " + std::to_string(kMiB) + " random",
            many,
            "z180.gz data " + std::to_string(180 * kMiB) + " zeros",
        };
        std::string command = "/usr/bin/python3 " + (folder_ / "make.py").string() + " " +
                              folder_.string();
        for (const std::string& spec : specs) command += " '" + spec + "'";
        made_ = std::system(command.c_str()) == 0;
    }

    std::filesystem::path folder_;
    bool made_ = false;
};

// Checking any one attachment, bombs included, takes no longer than this.
constexpr auto kMaxCheckTime = std::chrono::seconds(3);

}  // namespace

TEST_CASE("one-member zips of 180 MiB, 200 MiB and 1 GiB of zeros are bombs, found quickly",
          "[checks]")
{
    GeneratedZips& zips = GeneratedZips::instance();
    REQUIRE(zips.made());
    struct Row {
        const char* file;
        const char* detail_start;  // how the finding explains itself
    };
    const Row rows[] = {
        // Inflated to the message budget (128 MiB) at about a thousandfold.
        {"z180.zip", "z180.zip > zeros.bin inflates "},
        {"z200.zip", "z200.zip > zeros.bin inflates "},
        // Exactly kMaxDeclaredEntryBytes: a bomb by its declared size, never inflated.
        {"z1g.zip", "z1g.zip > zeros.bin declares 1073741824 bytes"},
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.file)
        {
            std::string bytes = zips.read(row.file);
            auto start = std::chrono::steady_clock::now();
            auto findings = findings_for(attachment(row.file, "application/zip", bytes));
            auto elapsed = std::chrono::steady_clock::now() - start;

            REQUIRE(findings.size() == 1);
            CHECK(findings[0].id == "archive_bomb");
            CHECK_THAT(findings[0].detail, Catch::StartsWith(row.detail_start));
            CHECK(elapsed < kMaxCheckTime);
        }
    }
}

TEST_CASE("a zeros member among incompressible ones is a bomb by its own ratio", "[checks]")
{
    // The archive as a whole inflates only about 25 times; the zeros member a thousandfold.
    GeneratedZips& zips = GeneratedZips::instance();
    REQUIRE(zips.made());
    auto findings = findings_for(attachment("mixed.zip", "application/zip",
                                            zips.read("mixed.zip")));
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "archive_bomb");
    CHECK_THAT(findings[0].detail, Catch::StartsWith("mixed.zip > zeros.bin inflates "));
}

TEST_CASE("many small members that together inflate a hundredfold are a bomb", "[checks]")
{
    // Each member (1 MiB) is below kMinBombInflatedBytes; the archive (30 MiB) is not.
    GeneratedZips& zips = GeneratedZips::instance();
    REQUIRE(zips.made());
    auto findings = findings_for(attachment("many.zip", "application/zip",
                                            zips.read("many.zip")));
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "archive_bomb");
    CHECK_THAT(findings[0].detail, Catch::StartsWith("many.zip inflates "));
    CHECK_THAT(findings[0].detail, Catch::Contains("(31457280 bytes from "));
}

TEST_CASE("zips of random bytes and of text that compresses only a few times are no bombs",
          "[checks]")
{
    GeneratedZips& zips = GeneratedZips::instance();
    REQUIRE(zips.made());
    CHECK(ids_for(attachment("random.zip", "application/zip", zips.read("random.zip")))
              .empty());
    CHECK(ids_for(attachment("hex.zip", "application/zip", zips.read("hex.zip"))).empty());
}

TEST_CASE("a gzip stream of zeros, which libarchive reads as an empty tar, is still a bomb",
          "[checks]")
{
    GeneratedZips& zips = GeneratedZips::instance();
    REQUIRE(zips.made());
    auto findings = findings_for(attachment("z180.gz", "application/gzip", zips.read("z180.gz")));
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].id == "archive_bomb");
    // The member is named after the file name the gzip header keeps ("z180").
    CHECK_THAT(findings[0].detail, Catch::StartsWith("z180.gz > z180 inflates "));
}
