git config --unset user.email
