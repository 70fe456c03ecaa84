// Helpers shared by the dns module's tests: scratch folders and files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace dns_test {

// A fresh folder under /tmp, removed with everything in it at the end of the test.
class ScratchDir {
public:
    ScratchDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "rg-dns-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
    }
    ~ScratchDir()
    {
        std::error_code ignored;
        if (!path_.empty()) {
            std::filesystem::remove_all(path_, ignored);
        }
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    std::string file(const std::string& name) const { return path_ + "/" + name; }

    // Writes text to name in this folder and returns its path.
    std::string write(const std::string& name, const std::string& text) const
    {
        std::ofstream out(file(name), std::ios::binary);
        out << text;
        return file(name);
    }

private:
    std::string path_;
};

inline std::string data_file(const std::string& name)
{
    return std::string(RELAYGATE_SOURCE_DIR) + "/tests/data/dns/" + name;
}

}  // namespace dns_test
