// directory_walker — the message files of a Maildir or of a directory tree, in sorted order,
// one at a time.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace relaygate::mailbox {

// True when path has cur/ and new/ subdirectories.
bool is_maildir(const std::string& path);

class DirectoryWalker {
public:
    // Problems (unreadable directories and files, symlink loops) go to errors, one line each.
    DirectoryWalker(const std::string& root, std::vector<std::string>& errors);

    // The next regular file to read; false when the tree is done.
    bool next(std::string& path);

private:
    // File names of one directory kept in one block: a Maildir of a million messages must not
    // cost a string object per name.
    struct NameList {
        std::string blob;
        std::vector<std::uint32_t> offsets;  // start of each '\0'-terminated name in blob
        std::string_view at(std::size_t i) const;
    };

    struct Frame {
        std::string path;
        NameList names;  // relative to path; "cur/x" and "new/x" for a Maildir
        std::size_t next = 0;
        bool maildir = false;
        dev_t device = 0;
        ino_t inode = 0;
    };

    void enter(const std::string& path, dev_t device, ino_t inode);
    bool list_into(const std::string& directory, std::string_view prefix, NameList& names);
    bool on_stack(dev_t device, ino_t inode) const;

    std::vector<Frame> stack_;
    std::set<std::pair<dev_t, ino_t>> visited_;
    std::vector<std::string>& errors_;
};

}  // namespace relaygate::mailbox
