// Helpers for the mailbox tests: a temporary directory and reading a whole stream.
#pragma once

#include "relaygate/mailbox.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mailbox_test {

// A fresh directory under the system temporary directory, removed with everything in it.
class TempDir {
public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "rg-mailbox-XXXXXX");
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("cannot create a temporary directory");
        path_ = pattern;
    }
    ~TempDir()
    {
        std::error_code ignored;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ignored);
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Writes bytes to a file below the directory (creating parents) and returns its path.
    std::string write(const std::string& relative, const std::string& bytes) const
    {
        std::filesystem::path file = path_ / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream out(file, std::ios::binary);
        out << bytes;
        return file.string();
    }

private:
    std::filesystem::path path_;
};

inline std::vector<relaygate::RawMessage> read_all(relaygate::MessageStream& stream)
{
    std::vector<relaygate::RawMessage> messages;
    relaygate::RawMessage message;
    while (stream.next(message))
        messages.push_back(message);
    return messages;
}

inline std::vector<relaygate::RawMessage> read_all(const std::vector<std::string>& paths,
                                                   relaygate::ReaderOptions options = {})
{
    relaygate::MessageStream stream(paths, options);
    return read_all(stream);
}

}  // namespace mailbox_test
