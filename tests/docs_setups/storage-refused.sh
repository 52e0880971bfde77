# docs/storage.md#what-is-refused: a file where a directory is needed, a directory, and a file that is no
# database (broken.orig is a copy taken before the commands)
mkdir -p src && echo 'x = 1' > src/app.py
printf 'not a database, only text\n' > broken.db && cp broken.db broken.orig
