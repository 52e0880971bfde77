echo demo > README.md && git add README.md && git commit -qm 'first commit'
