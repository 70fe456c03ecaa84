// Replaced by the real command line as the modules land.
int main() { return 0; }
