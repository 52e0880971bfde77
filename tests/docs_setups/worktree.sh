echo demo > README.md && git add README.md && git commit -qm 'first commit' && git worktree add -q ../demo-feature
