// The subscribe form's time zone, from the browser's own setting. Without script the field stays
// as the page wrote it and the reader types or picks a zone from the list.
(function () {
  var field = document.getElementById("timezone");
  if (!field || field.value) return;
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) field.value = zone;
  } catch (e) { /* an old browser: the reader chooses */ }
})();
