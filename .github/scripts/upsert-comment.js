// Creates the pull request's comment that starts with `marker`, or updates
// it when the bot already posted one, so a PR carries one diff comment per
// kind however often it is pushed.
module.exports = async function upsertComment({ github, context, marker, body }) {
  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
  const mine = comments.find((c) => c.user.type === 'Bot' && c.body.startsWith(marker));
  if (mine) {
    await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
  } else {
    await github.rest.issues.createComment({ owner, repo, issue_number, body });
  }
};
